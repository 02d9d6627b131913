// The inference kernels against independent references: the panel GEMM bit for bit against the plain FMA
// chain and against the training GEMM (Gemm.Run, a second implementation of the same arithmetic); the int8
// GEMM bit for bit against its scalar twin and, within float rounding, against the exact integer formula
// evaluated in double; quantization against hand-worked values; cached attention against a double-precision
// softmax attention.
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Models.Tests.Inference;

public sealed unsafe class DecodeKernelTests
{
    private static float[] Rand(Random r, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1) * scale;
        return a;
    }

    [Theory]
    [InlineData(1, 32, 16)]
    [InlineData(1, 77, 40)]
    [InlineData(3, 64, 33)]
    [InlineData(8, 96, 128)]
    [InlineData(9, 50, 7)]
    [InlineData(70, 130, 65)]
    [InlineData(30, 40, 600)]
    [InlineData(100, 64, 300)]
    public void PanelGemmIsTheFmaChainAndEqualsGemm(int M, int N, int K)
    {
        var r = new Random(M * 1000 + N * 10 + K);
        var x = Rand(r, M * K); var w = Rand(r, N * K);
        foreach (var t in new[] { PanelType.F32, PanelType.BF16 })
        {
            var wt = t == PanelType.F32 ? w : w.Select(v => BFloat16.ToFloat(BFloat16.FromFloat(v))).ToArray();
            var packed = new float[PanelGemm.PackedBytes(t, N, K) / 4 + 16];
            var y = new float[M * N]; var expect = new float[M * N]; var viaGemm = new float[M * N];
            fixed (float* pw = w, pp = packed, px = x, py = y)
            {
                PanelGemm.Pack(t, pw, N, K, pp);
                PanelGemm.Run(t, M, N, K, px, K, pp, py, N);
            }
            PanelGemm.Reference(M, N, K, x, wt, expect);
            Gemm.Run(false, true, M, N, K, x, wt, viaGemm);
            Assert.Equal(expect, y);
            Assert.Equal(viaGemm, y);
        }
    }

    [Fact]
    public void QuantizeMatchesHandWorkedValues()
    {
        // Block of 32: max |x| = 2.54 → s = 0.02; 1.0/0.02 = 50; −0.03/0.02 = −1.5 → −2 (ties to even); 0.05/0.02 = 2.5 → 2.
        var x = new float[32];
        x[0] = 2.54f; x[1] = 1.0f; x[2] = -0.03f; x[3] = 0.05f; x[4] = -2.54f;
        var q = new sbyte[32]; var s = new float[1];
        fixed (float* px = x, ps = s) fixed (sbyte* pq = q) Int8Gemm.Quantize(px, 1, 32, 32, 32, pq, ps);
        Assert.Equal(2.54f / 127f, s[0]);
        Assert.Equal(new sbyte[] { 127, 50, -2, 2, -127, 0 }, q[..6]);
    }

    [Fact]
    public void VectorQuantizeEqualsScalarTwin()
    {
        // Values at exact .5 multiples of the scale hit the round-half-to-even ties; zero blocks give s = 0, q = 0.
        var r = new Random(11);
        int M = 3, K = 256;
        foreach (int B in new[] { 32, 64, 256 })
        {
            var x = Rand(r, M * K, 4f);
            for (int i = 0; i < 32; i++) x[K + i] = 0f;
            for (int i = 0; i < 16; i++) x[2 * K + i] = (i - 8) * 0.5f * (8f / 127f);
            x[2 * K + 16] = 8f;
            var q1 = new sbyte[M * K]; var q2 = new sbyte[M * K]; var s1 = new float[M * K / B]; var s2 = new float[M * K / B];
            fixed (float* px = x, p1 = s1, p2 = s2) fixed (sbyte* a = q1, b = q2)
            {
                Int8Gemm.Quantize(px, M, K, K, B, a, p1);
                Int8Gemm.QuantizeReference(px, M, K, K, B, b, p2);
            }
            Assert.Equal(q2, q1);
            Assert.Equal(s2, s1);
        }
    }

    [Theory]
    [InlineData(1, 40, 64, 32)]
    [InlineData(2, 9, 96, 32)]
    [InlineData(5, 13, 128, 64)]
    [InlineData(4, 21, 96, 96)]   // per-row scales
    [InlineData(1, 64, 768, 768)] // per-row scales, a GPT-2 row
    [InlineData(40, 67, 256, 32)]
    public void Int8GemmEqualsScalarTwinAndExactFormula(int M, int N, int K, int B)
    {
        var r = new Random(M + N + K + B);
        var x = Rand(r, M * K, 3f); var w = Rand(r, N * K, 0.1f);
        x[0] = 10f; // an outlier in the first block
        int nb = K / B;
        var wq = new sbyte[N * K + 64]; var ws = new float[N * nb]; var xq = new sbyte[M * K + 64]; var xs = new float[2 * M * nb]; var y = new float[M * N];
        var packed = new byte[Int8Gemm.PackedBytes(N, K, B)];
        fixed (float* px = x, pw = w, pws = ws, pxs = xs, py = y) fixed (sbyte* pwq = wq, pxq = xq) fixed (byte* pp = packed)
        {
            Int8Gemm.Quantize(pw, N, K, K, B, pwq, pws);
            Int8Gemm.Pack(pwq, pws, N, K, B, pp);
            for (int n = 0; n < N; n++)
                for (int k = 0; k < K; k++)
                {
                    Assert.Equal(pwq[n * K + k], Int8Gemm.Weight(pp, K, B, n, k));
                    Assert.Equal(pws[n * nb + k / B], Int8Gemm.Scale(pp, K, B, n, k / B));
                }
            Int8Gemm.Run(M, N, K, B, px, K, pxq, pxs, pp, py, N);
            var sums = (int*)(pxs + M * nb);
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++)
                {
                    Assert.Equal(Int8Gemm.DotScalar(pxq + m * K, pxs + m * nb, pwq + n * K, pws + n * nb, K, B), y[m * N + n]);
                    double exact = 0, mag = 0;
                    for (int b = 0; b < nb; b++)
                    {
                        if (n == 0)
                        {
                            int sq = 0;
                            for (int k = b * B; k < (b + 1) * B; k++) sq += pxq[m * K + k];
                            Assert.Equal(sq, sums[m * nb + b]);
                        }
                        long dot = 0;
                        for (int k = b * B; k < (b + 1) * B; k++) dot += pxq[m * K + k] * pwq[n * K + k];
                        exact += (double)pws[n * nb + b] * pxs[m * nb + b] * dot;
                        mag += Math.Abs((double)pws[n * nb + b] * pxs[m * nb + b] * dot);
                    }
                    Assert.True(Math.Abs(y[m * N + n] - exact) <= 1e-6 * mag + 1e-30, $"({m},{n}): {y[m * N + n]} vs {exact}");
                    // And the quantized product approximates the real one: per element |Δ| ≤ ½s_x|w| + ½s_w|x| + ¼s_x s_w.
                    double real = 0, bound = 0;
                    for (int k = 0; k < K; k++)
                    {
                        real += (double)x[m * K + k] * w[n * K + k];
                        double sx = pxs[m * nb + k / B], sw = pws[n * nb + k / B];
                        bound += 0.5 * sx * Math.Abs(w[n * K + k]) + 0.5 * sw * Math.Abs(x[m * K + k]) + 0.25 * sx * sw;
                    }
                    Assert.True(Math.Abs(exact - real) <= bound * 1.0001, $"({m},{n}): quantized {exact} vs real {real}, bound {bound}");
                }
        }
    }

    [Theory]
    [InlineData(64)]
    [InlineData(80)]
    [InlineData(40)]
    public void CachedAttentionIsTheAxpyFormulationBitForBit(int HS)
    {
        // The register-blocked kernel must do each score's and each output's FMA chain in the same order as the plain
        // formulation (clear, one axpy per channel d, scale; softmax; Σ_t p_t·v_t in t order; divide): positions
        // cover the 64-key blocks, the 16-key blocks and the scalar tail. Also within float error of double softmax.
        int S = 1, NH = 2, NKV = 1, Tmax = 200;
        var r = new Random(HS);
        var k = Rand(r, S * NKV * Tmax * HS); var v = Rand(r, S * NKV * Tmax * HS);
        int[] pos = [0, 15, 63, 64, 79, 80, 150, 199];
        int R = pos.Length;
        var seq = new int[R];
        var q = Rand(r, R * NH * HS, 0.5f); var o = new float[R * NH * HS];
        fixed (float* pq = q, pk = k, pv = v, po = o) fixed (int* ps = seq, pp = pos)
        {
            CachedAttention.Forward(po, pq, R, ps, pp, pk, pv, NH, NKV, HS, Tmax);
            var sc = new float[Tmax];
            fixed (float* psc = sc)
                for (int row = 0; row < R; row++)
                    for (int h = 0; h < NH; h++)
                    {
                        int n = pos[row] + 1;
                        float* qr = pq + (row * NH + h) * HS;
                        Array.Clear(sc);
                        for (int d = 0; d < HS; d++)
                            for (int t = 0; t < n; t++) sc[t] = MathF.FusedMultiplyAdd(qr[d], k[d * Tmax + t], sc[t]);
                        float scale = 1f / MathF.Sqrt(HS);
                        for (int t = 0; t < n; t++) sc[t] *= scale;
                        float sum = Simd.ExpSub(psc, Simd.Max(psc, n), psc, n);
                        for (int c = 0; c < HS; c++)
                        {
                            float acc = 0f;
                            for (int t = 0; t < n; t++) acc = MathF.FusedMultiplyAdd(sc[t], v[t * HS + c], acc);
                            float expect = acc * (1f / sum);
                            Assert.Equal(expect, o[(row * NH + h) * HS + c]);
                        }
                        double mx = double.NegativeInfinity;
                        var sd = new double[n];
                        for (int t = 0; t < n; t++)
                        {
                            double d0 = 0;
                            for (int d = 0; d < HS; d++) d0 += (double)qr[d] * k[d * Tmax + t];
                            sd[t] = d0 / Math.Sqrt(HS); mx = Math.Max(mx, sd[t]);
                        }
                        double z = sd.Sum(x => Math.Exp(x - mx));
                        for (int c = 0; c < HS; c++)
                        {
                            double e = 0;
                            for (int t = 0; t < n; t++) e += Math.Exp(sd[t] - mx) / z * v[t * HS + c];
                            Assert.True(Math.Abs(o[(row * NH + h) * HS + c] - e) < 2e-5, $"pos {pos[row]} head {h} [{c}]");
                        }
                    }
        }
    }

    [Fact]
    public void CachedAttentionMatchesDoubleSoftmax()
    {
        int S = 2, NH = 4, NKV = 2, HS = 16, Tmax = 10;
        var r = new Random(5);
        var k = Rand(r, S * NKV * Tmax * HS); var v = Rand(r, S * NKV * Tmax * HS);
        int[] seq = [0, 1, 1], pos = [4, 0, 9];
        int R = seq.Length;
        var q = Rand(r, R * NH * HS, 2f); var o = new float[R * NH * HS];
        fixed (float* pq = q, pk = k, pv = v, po = o) fixed (int* ps = seq, pp = pos)
            CachedAttention.Forward(po, pq, R, ps, pp, pk, pv, NH, NKV, HS, Tmax);
        for (int row = 0; row < R; row++)
            for (int h = 0; h < NH; h++)
            {
                int kvh = h / (NH / NKV), n = pos[row] + 1;
                var sc = new double[n];
                for (int t = 0; t < n; t++)
                {
                    double d = 0;
                    for (int i = 0; i < HS; i++) d += q[(row * NH + h) * HS + i] * k[((seq[row] * NKV + kvh) * HS + i) * Tmax + t]; // keys (S, NKV, HS, Tmax)
                    sc[t] = d / Math.Sqrt(HS);
                }
                double mx = sc.Max(), sum = sc.Sum(s => Math.Exp(s - mx));
                for (int i = 0; i < HS; i++)
                {
                    double e = 0;
                    for (int t = 0; t < n; t++) e += Math.Exp(sc[t] - mx) / sum * v[((seq[row] * NKV + kvh) * Tmax + t) * HS + i];
                    Assert.True(Math.Abs(o[(row * NH + h) * HS + i] - e) < 2e-5, $"row {row} head {h} [{i}]: {o[(row * NH + h) * HS + i]} vs {e}");
                }
            }
    }
}
