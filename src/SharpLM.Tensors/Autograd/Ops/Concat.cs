// Concat along an axis: inputs agree on every other dimension. Viewing each input as
// (outer, dᵢ·inner), the output row o is the inputs' rows o laid end to end. Backward: each input's
// gradient += its slab of dy.
namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>Concatenation of <paramref name="xs"/> along <paramref name="axis"/>.</summary>
    public static Variable Concat(int axis, params Variable[] xs)
    {
        if (xs is null || xs.Length == 0) throw new ArgumentException("Concat: needs at least one input");
        var s0 = xs[0].Shape;
        int ax = Axis(axis, s0.Length, "Concat");
        int total = 0;
        foreach (var x in xs)
        {
            var s = x.Shape;
            bool ok = s.Length == s0.Length;
            for (int i = 0; ok && i < s.Length; i++) ok = i == ax || s[i] == s0[i];
            if (!ok) throw new ArgumentException($"Concat along axis {ax}: shapes {Tensor.Format(s0)} and {Tensor.Format(s)} differ outside that axis");
            total += s[ax];
        }
        var ys = s0.ToArray(); ys[ax] = total;
        long outer = Prod(s0, 0, ax), inner = Prod(s0, ax + 1, s0.Length);
        var tape = Autograd.CurrentTape;
        bool rg = false;
        foreach (var x in xs) rg |= Autograd.Tracks(x);
        if (rg) foreach (var x in xs) tape.CheckInput(x);
        var y = tape.NewOutput(ys, rg);
        long yRow = total * inner, off = 0;
        foreach (var x in xs)
        {
            long xRow = x.Shape[ax] * inner;
            float* px = P(x), py = P(y);
            for (long o = 0; o < outer; o++) new ReadOnlySpan<float>(px + o * xRow, checked((int)xRow)).CopyTo(new Span<float>(py + o * yRow + off, (int)xRow));
            off += xRow;
        }
        if (rg) tape.Record(new ConcatNode { Xs = (Variable[])xs.Clone(), Axis = ax, Outer = outer, Inner = inner, Output = y });
        return y;
    }

    private sealed class ConcatNode : Node
    {
        public Variable[] Xs = null!; public int Axis; public long Outer, Inner;
        public override void Backward()
        {
            long yRow = Output.Shape[Axis] * Inner, off = 0;
            float* g = Dy;
            foreach (var x in Xs)
            {
                long xRow = x.Shape[Axis] * Inner;
                if (x.RequiresGrad)
                {
                    float* dx = G(x);
                    for (long o = 0; o < Outer; o++) Pointwise.AddInto(g + o * yRow + off, dx + o * xRow, xRow);
                }
                off += xRow;
            }
        }
    }
}
