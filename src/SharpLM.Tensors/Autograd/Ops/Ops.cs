// Ops is the public surface of the differentiable primitives. Each op lives in its own file in this
// folder: the public forward method (checks shapes, computes, records a node when grad is tracked)
// and the node class whose Backward accumulates into input gradients, side by side. A fused kernel
// (LayerNorm, attention, cross-entropy, …) is added the same way: one file, one forward, one node.
// No silent broadcasting: mismatched shapes throw with both shapes in the message; AddRowVector is
// the one explicit broadcast (a bias over the rows of a matrix).
namespace SharpLM.Tensors.Autograd;

/// <summary>Differentiable operations on <see cref="Variable"/>s.</summary>
public static unsafe partial class Ops
{
    /// <summary>Whether the op records: grad mode on and some input requires grad (inputs validated against the tape).</summary>
    private static bool Track(Tape tape, Variable a)
    {
        if (!Autograd.Tracks(a)) return false;
        tape.CheckInput(a);
        return true;
    }

    private static bool Track(Tape tape, Variable a, Variable b)
    {
        if (!Autograd.Tracks(a, b)) return false;
        tape.CheckInput(a); tape.CheckInput(b);
        return true;
    }

    private static void SameShape(Variable a, Variable b, string op) => Tensor.CheckSameShape(a.Data, b.Data, op);

    /// <summary>Pointer to a variable's (dense f32) data.</summary>
    internal static float* P(Variable v) => v.RawData.Data;

    /// <summary>Pointer to a variable's gradient, allocated (zeroed) on first use.</summary>
    internal static float* G(Variable v) => v.EnsureGrad().Data;

    /// <summary>Normalises a possibly negative axis and throws if it is out of range.</summary>
    internal static int Axis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if ((uint)a >= (uint)rank) throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} out of range for rank {rank}");
        return a;
    }

    /// <summary>Product of shape[from..to).</summary>
    internal static long Prod(ReadOnlySpan<int> shape, int from, int to)
    {
        long n = 1;
        for (int i = from; i < to; i++) n *= shape[i];
        return n;
    }
}
