// AddRowVector: y[r, :] = x[r, :] + v for x (…, N) and v (N) — the one explicit broadcast, a bias.
// Backward: dx += dy; dv += Σ_r dy[r, :] (rows summed in order, deterministic).
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = x + v broadcast over the rows of x (v has x's last dimension).</summary>
    public static Variable AddRowVector(Variable x, Variable v)
    {
        var xs = x.Shape; var vs = v.Shape;
        if (xs.Length == 0 || vs.Length != 1 || vs[0] != xs[^1])
            throw new ArgumentException($"AddRowVector: x {Tensor.Format(xs)} needs a vector of its last dimension, got {Tensor.Format(vs)}");
        int n = vs[0]; int rows = n == 0 ? 0 : checked((int)(x.Length / n));
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x, v);
        var y = tape.NewOutput(xs, rg);
        float* px = P(x), pv = P(v), py = P(y);
        var vv = new ReadOnlySpan<float>(pv, n);
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(new ReadOnlySpan<float>(px + (long)r * n, n), vv, new Span<float>(py + (long)r * n, n));
        if (rg) tape.Record(new AddRowVectorNode { X = x, V = v, Rows = rows, N = n, Output = y });
        return y;
    }

    private sealed class AddRowVectorNode : Node
    {
        public Variable X = null!, V = null!; public int Rows, N;
        public override void Backward()
        {
            float* g = Dy;
            if (X.RequiresGrad) Pointwise.AddInto(g, G(X), Output.Length);
            if (V.RequiresGrad)
            {
                var dv = new Span<float>(G(V), N);
                for (int r = 0; r < Rows; r++) TensorPrimitives.Add(dv, new ReadOnlySpan<float>(g + (long)r * N, N), dv);
            }
        }
    }
}
