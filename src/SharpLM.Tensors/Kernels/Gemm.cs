// General matrix multiply, f32, row-major: C[M,N] (= or +=) op(A)[M,K] · op(B)[K,N], where op is
// identity or transpose — the layouts forward (A·Bᵀ for x·Wᵀ) and backward (A·B, Aᵀ·B) need.
// This file holds the public entry points and the scalar reference twin (the test oracle).
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>f32 GEMM entry points.</summary>
public static unsafe partial class Gemm
{
    /// <summary>
    /// C = op(A)·op(B) (or C += … when <paramref name="accumulate"/>). A is M×K (or K×M when
    /// <paramref name="transA"/>), B is K×N (or N×K when <paramref name="transB"/>), with row strides
    /// lda, ldb, ldc in elements.
    /// </summary>
    public static void Run(bool transA, bool transB, int M, int N, int K,
        float* A, int lda, float* B, int ldb, float* C, int ldc, bool accumulate)
    {
        var body = new NaiveBody { TransA = transA, TransB = transB, N = N, K = K, A = A, Lda = lda, B = B, Ldb = ldb, C = C, Ldc = ldc, Acc = accumulate };
        WorkerPool.For(M, 16, ref body);
    }

    /// <summary>Span overload of <see cref="Run(bool,bool,int,int,int,float*,int,float*,int,float*,int,bool)"/> for dense operands.</summary>
    public static void Run(bool transA, bool transB, int M, int N, int K,
        ReadOnlySpan<float> A, ReadOnlySpan<float> B, Span<float> C, bool accumulate = false)
    {
        CheckSizes(M, N, K, A.Length, B.Length, C.Length);
        fixed (float* a = A) fixed (float* b = B) fixed (float* c = C)
            Run(transA, transB, M, N, K, a, transA ? M : K, b, transB ? K : N, c, N, accumulate);
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

    private static void CheckSizes(int M, int N, int K, int a, int b, int c)
    {
        if (M < 0 || N < 0 || K < 0) throw new ArgumentException($"gemm: negative size M={M} N={N} K={K}");
        if (a < (long)M * K || b < (long)K * N || c < (long)M * N)
            throw new ArgumentException($"gemm M={M} N={N} K={K}: A has {a} (needs {(long)M * K}), B has {b} (needs {(long)K * N}), C has {c} (needs {(long)M * N}) elements");
    }

    private struct NaiveBody : IParallelBody
    {
        public bool TransA, TransB, Acc;
        public int N, K, Lda, Ldb, Ldc;
        public float* A, B, C;

        public readonly void Execute(int start, int end)
        {
            for (int i = start; i < end; i++)
                for (int j = 0; j < N; j++)
                {
                    float s = Acc ? C[(long)i * Ldc + j] : 0f;
                    for (int k = 0; k < K; k++)
                        s += (TransA ? A[(long)k * Lda + i] : A[(long)i * Lda + k]) * (TransB ? B[(long)j * Ldb + k] : B[(long)k * Ldb + j]);
                    C[(long)i * Ldc + j] = s;
                }
        }
    }
}
