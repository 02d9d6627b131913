// General matrix multiply, f32, row-major: C[M,N] (= or +=) op(A)[M,K] · op(B)[K,N], where op is
// identity or transpose — the layouts forward (A·Bᵀ for x·Wᵀ) and backward (A·B, Aᵀ·B) need — and a
// variant whose B (the weight) is stored as bf16 and widened exactly while packing, and one whose A (an
// activation saved in bf16) is.
// This file holds the public entry points, argument checks and the scalar twins: Reference (double
// accumulation, the accuracy oracle) and FmaChain (the exact f32 FMA chain every fast path computes,
// the bitwise oracle). The fast path is GemmDriver.cs (blocking, threads), GemmPack.cs and the
// micro-kernels GemmKernel*.cs. Not here: batched GEMM, int8, or any f64 kernel.
namespace SharpLM.Tensors.Kernels;

/// <summary>f32 GEMM entry points.</summary>
/// <remarks>
/// Every C element is computed as one sequential fused-multiply-add chain over k (from 0, or from the
/// old C when accumulating), so results are bit-identical across thread counts, blockings and
/// instruction sets. Against an exact (double) product the error is bounded by the usual
/// recursive-summation bound, |err| ≤ K·u·Σ|a·b| with u = 2⁻²⁴ (Higham, Accuracy and Stability of
/// Numerical Algorithms, §3.1), typically ≈ u·√K·‖a‖‖b‖.
/// </remarks>
public static unsafe partial class Gemm
{
    /// <summary>
    /// C = op(A)·op(B) (or C += … when <paramref name="accumulate"/>). A is M×K (or K×M when
    /// <paramref name="transA"/>), B is K×N (or N×K when <paramref name="transB"/>), with row strides
    /// lda, ldb, ldc in elements. Runs on <see cref="Threading.WorkerPool"/>.
    /// With <paramref name="bias"/> (N floats; not with <paramref name="accumulate"/>), C = bias + op(A)·op(B), each
    /// chain starting from bias[j]: the bits of filling C's rows with the bias and accumulating, without that pass.
    /// </summary>
    public static void Run(bool transA, bool transB, int M, int N, int K,
        float* A, int lda, float* B, int ldb, float* C, int ldc, bool accumulate, float* bias = null)
        => RunIsa(GemmDriver.Best, transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias);

    /// <summary>Span overload of <see cref="Run(bool,bool,int,int,int,float*,int,float*,int,float*,int,bool,float*)"/> for dense operands.</summary>
    public static void Run(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<float> A, ReadOnlySpan<float> B, Span<float> C, bool accumulate = false)
    {
        CheckSizes(M, N, K, A.Length, B.Length, C.Length);
        fixed (float* a = A) fixed (float* b = B) fixed (float* c = C)
            Run(transA, transB, M, N, K, a, transA ? M : K, b, transB ? K : N, c, N, accumulate);
    }

    /// <summary>
    /// As <see cref="Run(bool,bool,int,int,int,float*,int,float*,int,float*,int,bool,float*)"/> with B stored as
    /// bfloat16 (raw ushort bits), widened exactly to f32 while packing; A and C are f32. The usual layout is
    /// x·Wᵀ: <paramref name="transB"/> = true with B = W[N,K].
    /// </summary>
    /// <remarks>A <paramref name="bias"/> works as in <see cref="Run(bool,bool,int,int,int,float*,int,float*,int,float*,int,bool,float*)"/>.</remarks>
    public static void RunBf16B(bool transA, bool transB, int M, int N, int K,
        float* A, int lda, ushort* B, int ldb, float* C, int ldc, bool accumulate, float* bias = null)
        => RunBf16BIsa(GemmDriver.Best, transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias);

    /// <summary>Span overload of <see cref="RunBf16B(bool,bool,int,int,int,float*,int,ushort*,int,float*,int,bool,float*)"/> for dense operands.</summary>
    public static void RunBf16B(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<float> A, ReadOnlySpan<ushort> B, Span<float> C, bool accumulate = false)
    {
        CheckSizes(M, N, K, A.Length, B.Length, C.Length);
        fixed (float* a = A) fixed (ushort* b = B) fixed (float* c = C)
            RunBf16B(transA, transB, M, N, K, a, transA ? M : K, b, transB ? K : N, c, N, accumulate);
    }

    /// <summary>
    /// As <see cref="Run(bool,bool,int,int,int,float*,int,float*,int,float*,int,bool,float*)"/> with A stored as
    /// bfloat16 (raw ushort bits), widened exactly to f32 while packing; B and C are f32. The usual layout is
    /// a weight gradient dW += Xᵀ·dY over activations X saved in bf16: <paramref name="transA"/> = true.
    /// </summary>
    public static void RunBf16A(bool transA, bool transB, int M, int N, int K,
        ushort* A, int lda, float* B, int ldb, float* C, int ldc, bool accumulate)
        => RunBf16AIsa(GemmDriver.Best, transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);

    /// <summary>Span overload of <see cref="RunBf16A(bool,bool,int,int,int,ushort*,int,float*,int,float*,int,bool)"/> for dense operands.</summary>
    public static void RunBf16A(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<ushort> A, ReadOnlySpan<float> B, Span<float> C, bool accumulate = false)
    {
        CheckSizes(M, N, K, A.Length, B.Length, C.Length);
        fixed (ushort* a = A) fixed (float* b = B) fixed (float* c = C)
            RunBf16A(transA, transB, M, N, K, a, transA ? M : K, b, transB ? K : N, c, N, accumulate);
    }

    internal static void RunBf16AIsa(GemmIsa isa, bool transA, bool transB, int M, int N, int K,
        ushort* A, int lda, float* B, int ldb, float* C, int ldc, bool accumulate)
    {
        CheckStrides(transA, transB, M, N, K, lda, ldb, ldc);
        GemmDriver.RunBf16A(isa, transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    }

    internal static void RunIsa(GemmIsa isa, bool transA, bool transB, int M, int N, int K,
        float* A, int lda, float* B, int ldb, float* C, int ldc, bool accumulate, float* bias = null)
    {
        CheckStrides(transA, transB, M, N, K, lda, ldb, ldc);
        CheckBias(accumulate, bias);
        GemmDriver.Run(isa, false, transA, transB, M, N, K, A, lda, (byte*)B, ldb, C, ldc, accumulate, bias);
    }

    internal static void RunBf16BIsa(GemmIsa isa, bool transA, bool transB, int M, int N, int K,
        float* A, int lda, ushort* B, int ldb, float* C, int ldc, bool accumulate, float* bias = null)
    {
        CheckStrides(transA, transB, M, N, K, lda, ldb, ldc);
        CheckBias(accumulate, bias);
        GemmDriver.Run(isa, true, transA, transB, M, N, K, A, lda, (byte*)B, ldb, C, ldc, accumulate, bias);
    }

    private static void CheckBias(bool accumulate, float* bias)
    {
        if (accumulate && bias != null)
            throw new ArgumentException("gemm: a bias starts C's chains, so it cannot be combined with accumulate (add it to C instead)");
    }

    /// <summary>The scalar reference: a triple loop accumulating in double. Slow; the oracle of the tests.</summary>
    public static void Reference(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<float> A, ReadOnlySpan<float> B, Span<float> C, bool accumulate = false)
    {
        CheckSizes(M, N, K, A.Length, B.Length, C.Length);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double s = accumulate ? C[i * N + j] : 0;
                for (int k = 0; k < K; k++)
                    s += (double)(transA ? A[k * M + i] : A[i * K + k]) * (transB ? B[j * K + k] : B[k * N + j]);
                C[i * N + j] = (float)s;
            }
    }

    /// <summary>The scalar twin of <see cref="RunBf16B(bool,bool,int,int,int,ReadOnlySpan{float},ReadOnlySpan{ushort},Span{float},bool)"/>: widen B, accumulate in double.</summary>
    public static void ReferenceBf16B(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<float> A, ReadOnlySpan<ushort> B, Span<float> C, bool accumulate = false)
    {
        CheckSizes(M, N, K, A.Length, B.Length, C.Length);
        var wide = new float[B.Length];
        for (int i = 0; i < wide.Length; i++) wide[i] = BFloat16.ToFloat(B[i]);
        Reference(transA, transB, M, N, K, A, wide, C, accumulate);
    }

    /// <summary>The scalar twin of <see cref="RunBf16A(bool,bool,int,int,int,ReadOnlySpan{ushort},ReadOnlySpan{float},Span{float},bool)"/>: widen A, accumulate in double.</summary>
    public static void ReferenceBf16A(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<ushort> A, ReadOnlySpan<float> B, Span<float> C, bool accumulate = false)
    {
        CheckSizes(M, N, K, A.Length, B.Length, C.Length);
        var wide = new float[A.Length];
        for (int i = 0; i < wide.Length; i++) wide[i] = BFloat16.ToFloat(A[i]);
        Reference(transA, transB, M, N, K, wide, B, C, accumulate);
    }

    /// <summary>
    /// The exact arithmetic of every fast path, written plainly: per element, c ← fma(a_k, b_k, c) for
    /// k = 0..K-1 in order, from 0 or the old C. Fast paths must match it bit for bit.
    /// </summary>
    internal static void FmaChain(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<float> A, int lda, ReadOnlySpan<float> B, int ldb, Span<float> C, int ldc, bool accumulate)
    {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                float s = accumulate ? C[i * ldc + j] : 0f;
                for (int k = 0; k < K; k++)
                    s = MathF.FusedMultiplyAdd(transA ? A[k * lda + i] : A[i * lda + k], transB ? B[j * ldb + k] : B[k * ldb + j], s);
                C[i * ldc + j] = s;
            }
    }

    private static void CheckSizes(int M, int N, int K, int a, int b, int c)
    {
        if (M < 0 || N < 0 || K < 0) throw new ArgumentException($"gemm: negative size M={M} N={N} K={K}");
        if (a < (long)M * K || b < (long)K * N || c < (long)M * N)
            throw new ArgumentException($"gemm M={M} N={N} K={K}: A has {a} (needs {(long)M * K}), B has {b} (needs {(long)K * N}), C has {c} (needs {(long)M * N}) elements");
    }

    private static void CheckStrides(bool transA, bool transB, int M, int N, int K, int lda, int ldb, int ldc)
    {
        if (M < 0 || N < 0 || K < 0) throw new ArgumentException($"gemm: negative size M={M} N={N} K={K}");
        int needA = transA ? M : K, needB = transB ? K : N;
        if (lda < needA || ldb < needB || ldc < N)
            throw new ArgumentException(
                $"gemm M={M} N={N} K={K} transA={transA} transB={transB}: row strides lda={lda} (needs ≥ {needA}), ldb={ldb} (needs ≥ {needB}), ldc={ldc} (needs ≥ {N})");
    }
}
