// Tests of the f32 GEMM (Gemm.Run, Gemm.RunBf16B, Gemm.RunBf16A) against two independent scalar twins:
//  - Gemm.FmaChain, the plain per-element fused-multiply-add chain over k. Every fast path (each ISA,
//    any thread count, any blocking) must equal it bit for bit — this is the determinism contract.
//  - Gemm.Reference, a double-precision triple loop. The f32 result must lie within the rigorous
//    recursive-summation bound |err| ≤ γ_n · Σ_k |a_k·b_k| (+|c| when accumulating), γ_n = n·u/(1−n·u),
//    u = 2⁻²⁴, n = K (+1 when accumulating) — Higham, Accuracy and Stability of Numerical Algorithms, §3.1.
// Shapes sweep the tile edges (1, 7, 33, 255, 257, K = 1, M = 1, N = 1, non-multiples of 14/32/6/16)
// and sub-matrix views with row strides larger than the width.
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed unsafe class GemmTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 1, 7, 33 }, { 7, 1, 255 }, { 1, 257, 1 }, { 33, 1, 7 }, { 15, 33, 1 },
        { 14, 32, 16 }, { 13, 31, 17 }, { 29, 65, 300 }, { 255, 33, 7 }, { 33, 257, 64 },
        { 257, 255, 33 }, { 6, 16, 513 }, { 8, 48, 40 }, { 300, 70, 260 },
        { 600, 45, 520 }, // several row blocks and K slices: the shared packed B, edge panel included
        { 20, 330, 600 }, // one row block: columns split, B packed in groups of panels across K slices
    };

    internal static readonly GemmIsa[] Isas = [GemmIsa.Portable, GemmIsa.Avx2, GemmIsa.Avx512];

    private static float[] Rand(long n, int seed)
    {
        var r = new Random(seed);
        var x = new float[n];
        for (long i = 0; i < n; i++) x[i] = (float)(r.NextDouble() * 2 - 1);
        return x;
    }

    private static void AssertBitsEqual(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}");
    }

    /// <summary>Checks C against the double reference within the rigorous summation bound.</summary>
    private static void AssertWithinBound(bool ta, bool tb, int M, int N, int K, float[] A, float[] B, float[] c0, float[] C, bool acc)
    {
        const double u = 1.0 / (1 << 24);
        int n = K + (acc ? 1 : 0);
        double gamma = n * u / (1 - n * u);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double s = acc ? c0[i * N + j] : 0, mag = acc ? Math.Abs(c0[i * N + j]) : 0;
                for (int k = 0; k < K; k++)
                {
                    double p = (double)(ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
                    s += p; mag += Math.Abs(p);
                }
                double err = Math.Abs(C[i * N + j] - s);
                if (err > gamma * mag + 1e-30)
                    Assert.Fail($"C[{i},{j}] = {C[i * N + j]:R}, exact {s:R}: error {err:E3} above bound {gamma * mag:E3}");
            }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EveryLayoutAndIsaMatchesTheFmaChainBitwiseAndTheDoubleReferenceWithinBound(int M, int N, int K)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (bool acc in new[] { false, true })
                {
                    var A = Rand((long)M * K, 1 + M);
                    var B = Rand((long)K * N, 2 + N);
                    var c0 = Rand((long)M * N, 3 + K);
                    var chain = (float[])c0.Clone();
                    Gemm.FmaChain(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, chain, N, acc);
                    AssertWithinBound(ta, tb, M, N, K, A, B, c0, chain, acc);

                    var pub = (float[])c0.Clone();
                    Gemm.Run(ta, tb, M, N, K, A, B, pub, acc);
                    AssertBitsEqual(chain, pub, $"public M={M} N={N} K={K} ta={ta} tb={tb} acc={acc}");

                    foreach (var isa in Isas)
                    {
                        if (!GemmDriver.Supported(isa)) continue;
                        var c = (float[])c0.Clone();
                        fixed (float* a = A) fixed (float* b = B) fixed (float* cp = c)
                            Gemm.RunIsa(isa, ta, tb, M, N, K, a, ta ? M : K, b, tb ? K : N, cp, N, acc);
                        AssertBitsEqual(chain, c, $"{isa} M={M} N={N} K={K} ta={ta} tb={tb} acc={acc}");
                    }
                }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ABiasGivesTheBitsOfCFilledWithItThenAccumulated(int M, int N, int K)
    {
        var bias = Rand(N, 51 + N);
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                var A = Rand((long)M * K, 52 + M);
                var B = Rand((long)K * N, 53 + K);
                var Bb = new ushort[B.Length];
                var wideB = new float[B.Length];
                for (int i = 0; i < B.Length; i++) { Bb[i] = BFloat16.FromFloat(B[i]); wideB[i] = BFloat16.ToFloat(Bb[i]); }
                // The oracle: C's rows set to the bias, then the chain accumulating onto them.
                var chain = new float[(long)M * N]; var chainBf = new float[chain.Length];
                for (int i = 0; i < M; i++) { bias.CopyTo(chain, i * N); bias.CopyTo(chainBf, i * N); }
                Gemm.FmaChain(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, chain, N, true);
                Gemm.FmaChain(ta, tb, M, N, K, A, ta ? M : K, wideB, tb ? K : N, chainBf, N, true);
                foreach (var isa in Isas)
                {
                    if (!GemmDriver.Supported(isa)) continue;
                    var c = Rand((long)M * N, 54); var cb = Rand((long)M * N, 55); // stale values must not leak in
                    fixed (float* a = A) fixed (float* b = B) fixed (ushort* bb = Bb) fixed (float* cp = c) fixed (float* cbp = cb) fixed (float* bi = bias)
                    {
                        Gemm.RunIsa(isa, ta, tb, M, N, K, a, ta ? M : K, b, tb ? K : N, cp, N, false, bi);
                        Gemm.RunBf16BIsa(isa, ta, tb, M, N, K, a, ta ? M : K, bb, tb ? K : N, cbp, N, false, bi);
                    }
                    AssertBitsEqual(chain, c, $"bias {isa} M={M} N={N} K={K} ta={ta} tb={tb}");
                    AssertBitsEqual(chainBf, cb, $"bias bf16 B {isa} M={M} N={N} K={K} ta={ta} tb={tb}");
                }
            }
    }

    [Fact]
    public void ABiasWithAccumulateIsRefusedAndAZeroDepthLeavesTheBias()
    {
        var C = new float[6];
        var bias = new float[] { 1, 2, 3 };
        fixed (float* c = C) fixed (float* bi = bias)
        {
            float* cp = c, bp = bi;
            var e = Assert.Throws<ArgumentException>(() => Gemm.Run(false, false, 2, 3, 1, cp, 1, cp, 3, cp, 3, true, bp));
            Assert.Contains("bias", e.Message);
            Gemm.Run(false, false, 2, 3, 0, c, 1, c, 3, c, 3, false, bi);
        }
        Assert.Equal([1f, 2, 3, 1, 2, 3], C);
    }

    [Fact]
    public void HandWorkedTwoByTwo()
    {
        // [1 2; 3 4]·[5 6; 7 8] = [19 22; 43 50]; Aᵀ·B = [1 3; 2 4]·B = [26 30; 38 44]; with C += on top of ones.
        float[] A = [1, 2, 3, 4], B = [5, 6, 7, 8];
        var C = new float[4];
        Gemm.Run(false, false, 2, 2, 2, A, B, C);
        Assert.Equal([19f, 22f, 43f, 50f], C);
        C = [1, 1, 1, 1];
        Gemm.Run(true, false, 2, 2, 2, A, B, C, accumulate: true);
        Assert.Equal([27f, 31f, 39f, 45f], C);
        Gemm.Run(false, true, 2, 2, 2, A, B, C); // A·Bᵀ = [1 2; 3 4]·[5 7; 6 8] = [17 23; 39 53]
        Assert.Equal([17f, 23f, 39f, 53f], C);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void SubMatrixViewsWithLargerStridesTouchOnlyTheView(bool ta, bool tb)
    {
        const int M = 37, N = 45, K = 70, pad = 9, off = 5;
        int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
        int lda = ac + pad, ldb = bc + pad, ldc = N + pad;
        var A = Rand(off + (long)ar * lda, 11);
        var B = Rand(off + (long)br * ldb, 12);
        var C = Rand(off + (long)M * ldc, 13);
        var dense = new float[(long)M * N];
        var dA = new float[(long)ar * ac]; var dB = new float[(long)br * bc];
        for (int r = 0; r < ar; r++) for (int c = 0; c < ac; c++) dA[r * ac + c] = A[off + r * lda + c];
        for (int r = 0; r < br; r++) for (int c = 0; c < bc; c++) dB[r * bc + c] = B[off + r * ldb + c];
        for (int r = 0; r < M; r++) for (int c = 0; c < N; c++) dense[r * N + c] = C[off + r * ldc + c];
        Gemm.FmaChain(ta, tb, M, N, K, dA, ac, dB, bc, dense, N, true);

        foreach (var isa in Isas)
        {
            if (!GemmDriver.Supported(isa)) continue;
            var c = (float[])C.Clone();
            fixed (float* a = A) fixed (float* b = B) fixed (float* cp = c)
                Gemm.RunIsa(isa, ta, tb, M, N, K, a + off, lda, b + off, ldb, cp + off, ldc, true);
            for (int i = 0; i < c.Length; i++)
            {
                int rel = i - off, r = rel / ldc, col = rel % ldc;
                bool inView = rel >= 0 && r < M && col < N;
                float want = inView ? dense[r * N + col] : C[i];
                if (BitConverter.SingleToInt32Bits(want) != BitConverter.SingleToInt32Bits(c[i]))
                    Assert.Fail($"{isa} ta={ta} tb={tb}: C buffer element {i} ({(inView ? $"view [{r},{col}]" : "outside the view")}) is {c[i]:R}, expected {want:R}");
            }
        }
    }

    [Fact]
    public void SameBitsWithOneAndTwoThreadsAndOnRepeat()
    {
        const int M = 301, N = 650, K = 530;
        var A = Rand((long)M * K, 21); var B = Rand((long)K * N, 22);
        int prev = WorkerPool.Threads;
        try
        {
            foreach (bool tb in new[] { false, true })
            {
                WorkerPool.Threads = 1;
                var one = new float[M * N];
                Gemm.Run(false, tb, M, N, K, A, B, one);
                WorkerPool.Threads = 2;
                for (int rep = 0; rep < 3; rep++)
                {
                    var two = new float[M * N];
                    Gemm.Run(false, tb, M, N, K, A, B, two);
                    AssertBitsEqual(one, two, $"tb={tb} two threads, repeat {rep}");
                }
                // and the same bits as the chain on a sample of rows
                var chain = new float[N * 3];
                foreach (int i in new[] { 0, 150, M - 1 })
                {
                    Gemm.FmaChain(false, tb, 1, N, K, A.AsSpan(i * K), K, B, tb ? K : N, chain, N, false);
                    for (int j = 0; j < N; j++)
                        Assert.Equal(BitConverter.SingleToInt32Bits(chain[j]), BitConverter.SingleToInt32Bits(one[i * N + j]));
                }
            }
        }
        finally { WorkerPool.Threads = prev; }
    }

    [Theory]
    [InlineData(1, 2304, 768)]
    [InlineData(5, 100, 77)]
    [InlineData(33, 257, 255)]
    [InlineData(64, 48, 33)]
    public void Bf16WeightsMatchTheWidenedChainBitwiseAndTheReferenceWithinBound(int M, int N, int K)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (bool acc in new[] { false, true })
                {
                    var A = Rand((long)M * K, 31);
                    var Bf = Rand((long)K * N, 32);
                    var B = new ushort[Bf.Length];
                    var wide = new float[Bf.Length];
                    for (int i = 0; i < B.Length; i++) { B[i] = BFloat16.FromFloat(Bf[i]); wide[i] = BFloat16.ToFloat(B[i]); }
                    var c0 = Rand((long)M * N, 33);
                    var chain = (float[])c0.Clone();
                    Gemm.FmaChain(ta, tb, M, N, K, A, ta ? M : K, wide, tb ? K : N, chain, N, acc);

                    var refc = (float[])c0.Clone();
                    Gemm.ReferenceBf16B(ta, tb, M, N, K, A, B, refc, acc);
                    var refw = (float[])c0.Clone();
                    Gemm.Reference(ta, tb, M, N, K, A, wide, refw, acc);
                    AssertBitsEqual(refw, refc, "ReferenceBf16B is Reference on widened B");
                    AssertWithinBound(ta, tb, M, N, K, A, wide, c0, chain, acc);

                    var pub = (float[])c0.Clone();
                    Gemm.RunBf16B(ta, tb, M, N, K, A, B, pub, acc);
                    AssertBitsEqual(chain, pub, $"bf16 public M={M} N={N} K={K} ta={ta} tb={tb} acc={acc}");
                    foreach (var isa in Isas)
                    {
                        if (!GemmDriver.Supported(isa)) continue;
                        var c = (float[])c0.Clone();
                        fixed (float* a = A) fixed (ushort* b = B) fixed (float* cp = c)
                            Gemm.RunBf16BIsa(isa, ta, tb, M, N, K, a, ta ? M : K, b, tb ? K : N, cp, N, acc);
                        AssertBitsEqual(chain, c, $"bf16 {isa} M={M} N={N} K={K} ta={ta} tb={tb} acc={acc}");
                    }
                }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Bf16ActivationsMatchTheWidenedChainBitwiseAndTheReferenceWithinBound(int M, int N, int K)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (bool acc in new[] { false, true })
                {
                    var Af = Rand((long)M * K, 41);
                    var A = new ushort[Af.Length];
                    var wide = new float[Af.Length];
                    for (int i = 0; i < A.Length; i++) { A[i] = BFloat16.FromFloat(Af[i]); wide[i] = BFloat16.ToFloat(A[i]); }
                    var B = Rand((long)K * N, 42);
                    var c0 = Rand((long)M * N, 43);
                    var chain = (float[])c0.Clone();
                    Gemm.FmaChain(ta, tb, M, N, K, wide, ta ? M : K, B, tb ? K : N, chain, N, acc);

                    var refc = (float[])c0.Clone();
                    Gemm.ReferenceBf16A(ta, tb, M, N, K, A, B, refc, acc);
                    var refw = (float[])c0.Clone();
                    Gemm.Reference(ta, tb, M, N, K, wide, B, refw, acc);
                    AssertBitsEqual(refw, refc, "ReferenceBf16A is Reference on widened A");
                    AssertWithinBound(ta, tb, M, N, K, wide, B, c0, chain, acc);

                    var pub = (float[])c0.Clone();
                    Gemm.RunBf16A(ta, tb, M, N, K, A, B, pub, acc);
                    AssertBitsEqual(chain, pub, $"bf16 A public M={M} N={N} K={K} ta={ta} tb={tb} acc={acc}");
                    foreach (var isa in Isas)
                    {
                        if (!GemmDriver.Supported(isa)) continue;
                        var c = (float[])c0.Clone();
                        fixed (ushort* a = A) fixed (float* b = B) fixed (float* cp = c)
                            Gemm.RunBf16AIsa(isa, ta, tb, M, N, K, a, ta ? M : K, b, tb ? K : N, cp, N, acc);
                        AssertBitsEqual(chain, c, $"bf16 A {isa} M={M} N={N} K={K} ta={ta} tb={tb} acc={acc}");
                    }
                }
    }

    [Fact]
    public void EmptyDepthZeroesOrKeepsC()
    {
        var C = new float[] { 1, 2, 3, 4, 5, 6 };
        Gemm.Run(false, false, 2, 3, 0, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, C, accumulate: true);
        Assert.Equal([1f, 2, 3, 4, 5, 6], C);
        Gemm.Run(false, false, 2, 3, 0, ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, C);
        Assert.Equal(new float[6], C);
        Gemm.Run(false, false, 0, 3, 4, ReadOnlySpan<float>.Empty, new float[12], Span<float>.Empty); // M = 0: nothing to do
    }

    [Fact]
    public void BadSizesAndStridesNameTheProblem()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Run(false, false, 2, 2, 2, new float[3], new float[4], new float[4]));
        Assert.Contains("A has 3 (needs 4)", e.Message);
        var buf = new float[64];
        fixed (float* p = buf)
        {
            float* q = p;
            var s = Assert.Throws<ArgumentException>(() => Gemm.Run(false, true, 4, 4, 8, q, 7, q, 8, q, 4, false));
            Assert.Contains("lda=7 (needs ≥ 8)", s.Message);
        }
    }
}
