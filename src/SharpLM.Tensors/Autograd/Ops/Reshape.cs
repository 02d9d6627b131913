// Reshape: the same elements under a new shape (one dimension may be −1). The output shares the
// input's storage (no copy). Backward: dx += dy, element for element.
namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>A view of <paramref name="x"/> with a new shape (same element count).</summary>
    public static Variable Reshape(Variable x, params int[] shape)
    {
        var view = x.Data.Reshape(shape); // validates the element count, names both shapes
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = Variable.NonLeaf(view, rg, tape);
        if (rg) tape.Record(new ReshapeNode { X = x, Output = y });
        return y;
    }

    private sealed class ReshapeNode : Node
    {
        public Variable X = null!;
        public override void Backward()
        {
            if (X.RequiresGrad) Pointwise.AddInto(Dy, G(X), Output.Length);
        }
    }
}
