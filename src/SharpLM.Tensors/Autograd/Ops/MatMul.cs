// MatMul: C = op(A)·op(B) with op = identity or transpose, through Kernels.Gemm. Shapes:
//   2-D:  A (M, K) [or (K, M) if transA], B (K, N) [or (N, K) if transB] → C (M, N)
//   3-D:  the same per batch: A (B, ·, ·), B (B, ·, ·) → C (B, M, N)
//   3-D × 2-D (no transA): A (B, M, K) is treated as (B·M, K) against a shared B — a linear layer.
// Backward (G = dC; all accumulate into existing gradients through Gemm's accumulate flag):
//   C = A·B     dA += G·Bᵀ        dB += Aᵀ·G
//   C = A·Bᵀ    dA += G·B         dB += Gᵀ·A
//   C = Aᵀ·B    dA += B·Gᵀ        dB += A·G
//   C = Aᵀ·Bᵀ   dA += Bᵀ·Gᵀ       dB += Gᵀ·Aᵀ
using SharpLM.Tensors.Kernels;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>C = op(A)·op(B), 2-D or batched 3-D (or a 3-D A against a shared 2-D B); see the file header for shapes.</summary>
    public static Variable MatMul(Variable a, Variable b, bool transA = false, bool transB = false)
    {
        var sa = a.Shape; var sb = b.Shape;
        int batch, m, k, k2, n;
        bool sharedB = false;
        string Desc() => $"MatMul{(transA ? " (A transposed)" : "")}{(transB ? " (B transposed)" : "")}: A {Tensor.Format(a.Shape)}, B {Tensor.Format(b.Shape)}";
        if (sa.Length == 2 && sb.Length == 2) batch = 1;
        else if (sa.Length == 3 && sb.Length == 3)
        {
            if (sa[0] != sb[0]) throw new ArgumentException($"{Desc()}: batch sizes differ");
            batch = sa[0];
        }
        else if (sa.Length == 3 && sb.Length == 2 && !transA) { batch = 1; sharedB = true; }
        else throw new ArgumentException($"{Desc()}: expected 2-D·2-D, 3-D·3-D or 3-D·2-D (without transA)");
        int r = sa.Length - 2;
        if (sharedB) { m = sa[0] * sa[1]; k = sa[2]; }
        else { m = transA ? sa[r + 1] : sa[r]; k = transA ? sa[r] : sa[r + 1]; }
        int rb = sb.Length - 2;
        k2 = transB ? sb[rb + 1] : sb[rb]; n = transB ? sb[rb] : sb[rb + 1];
        if (k != k2) throw new ArgumentException($"{Desc()}: inner dimensions {k} and {k2} differ");

        int[] ys = sa.Length == 3 ? (sharedB ? [sa[0], sa[1], n] : [batch, m, n]) : [m, n];
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, a, b);
        var y = tape.NewOutput(ys, rg);
        float* pa = P(a), pb = P(b), pc = P(y);
        for (int i = 0; i < batch; i++)
            Gemm.Run(transA, transB, m, n, k, pa + (long)i * m * k, transA ? m : k, pb + (long)i * k * n, transB ? k : n, pc + (long)i * m * n, n, false);
        if (rg) tape.Record(new MatMulNode { A = a, B = b, TransA = transA, TransB = transB, Batch = batch, M = m, N = n, K = k, Output = y });
        return y;
    }

    private sealed class MatMulNode : Node
    {
        public Variable A = null!, B = null!;
        public bool TransA, TransB;
        public int Batch, M, N, K;

        public override void Backward()
        {
            float* g = Dy, a = P(A), b = P(B);
            float* da = A.RequiresGrad ? G(A) : null, db = B.RequiresGrad ? G(B) : null;
            long sA = (long)M * K, sB = (long)K * N, sC = (long)M * N;
            for (int i = 0; i < Batch; i++)
            {
                float* gi = g + i * sC, ai = a + i * sA, bi = b + i * sB;
                if (da != null)
                {
                    float* d = da + i * sA;
                    switch (TransA, TransB)
                    {
                        case (false, false): Gemm.Run(false, true, M, K, N, gi, N, bi, N, d, K, true); break;
                        case (false, true): Gemm.Run(false, false, M, K, N, gi, N, bi, K, d, K, true); break;
                        case (true, false): Gemm.Run(false, true, K, M, N, bi, N, gi, N, d, M, true); break;
                        case (true, true): Gemm.Run(true, true, K, M, N, bi, K, gi, N, d, M, true); break;
                    }
                }
                if (db != null)
                {
                    float* d = db + i * sB;
                    switch (TransA, TransB)
                    {
                        case (false, false): Gemm.Run(true, false, K, N, M, ai, K, gi, N, d, N, true); break;
                        case (false, true): Gemm.Run(true, false, N, K, M, gi, N, ai, K, d, K, true); break;
                        case (true, false): Gemm.Run(false, false, K, N, M, ai, M, gi, N, d, N, true); break;
                        case (true, true): Gemm.Run(true, true, N, K, M, gi, N, ai, M, d, K, true); break;
                    }
                }
            }
        }
    }
}
