// Narrow (slice): y = x[…, start : start + length, …] along one axis, copied dense. Backward: the
// slab of dx the slice came from += dy; the rest of dx is untouched.
namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary><paramref name="length"/> entries of <paramref name="axis"/> starting at <paramref name="start"/>.</summary>
    public static Variable Narrow(Variable x, int axis, int start, int length)
    {
        var s = x.Shape;
        int ax = Axis(axis, s.Length, "Narrow");
        if (start < 0 || length < 0 || (long)start + length > s[ax])
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: [{start}, {(long)start + length}) out of range for axis {ax} of shape {Tensor.Format(s)}");
        var ys = s.ToArray(); ys[ax] = length;
        long outer = Prod(s, 0, ax), inner = Prod(s, ax + 1, s.Length);
        long xRow = s[ax] * inner, yRow = length * inner, off = start * inner;
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(ys, rg);
        float* px = P(x), py = P(y);
        for (long o = 0; o < outer; o++) new ReadOnlySpan<float>(px + o * xRow + off, checked((int)yRow)).CopyTo(new Span<float>(py + o * yRow, (int)yRow));
        if (rg) tape.Record(new NarrowNode { X = x, Outer = outer, XRow = xRow, YRow = yRow, Off = off, Output = y });
        return y;
    }

    private sealed class NarrowNode : Node
    {
        public Variable X = null!; public long Outer, XRow, YRow, Off;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            float* g = Dy, dx = G(X);
            for (long o = 0; o < Outer; o++) Pointwise.AddInto(g + o * YRow, dx + o * XRow + Off, YRow);
        }
    }
}
