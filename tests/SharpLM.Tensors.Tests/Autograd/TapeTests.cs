// The tape's contract: gradients accumulate across micro-batches until ZeroGrad, a NoGrad scope
// records nothing, Reset recycles the arena (a same-shaped step allocates no new buffer), a consumed
// graph cannot be back-propagated twice, and shape mismatches name both shapes. Expected gradients
// are worked by hand (linear/quadratic functions) so no other op is trusted.
using SharpLM.Tensors.Autograd;
using AG = SharpLM.Tensors.Autograd.Autograd;

namespace SharpLM.Tensors.Tests.Autograd;

public sealed class TapeTests
{
    /// <summary>loss = Σ (w ⊙ x)  for one micro-batch x: dL/dw = x.</summary>
    private static void MicroBatch(Variable w, float[] x)
    {
        using var xt = Tensor.FromArray(x, x.Length);
        using var xv = Variable.Constant(xt);
        Ops.Sum(w * xv).Backward();
    }

    [Fact]
    public void GradientsAccumulateOverMicroBatchesUntilZeroGrad()
    {
        using var wt = Tensor.FromArray([0.5f, -1f, 2f], 3);
        using var w = Variable.Parameter(wt);
        using var tape = new Tape();
        using var _ = AG.UseTape(tape);
        MicroBatch(w, [1f, 2f, 3f]);
        MicroBatch(w, [10f, 20f, 30f]);          // second forward on the same tape, no Reset between
        Assert.Equal(new[] { 11f, 22f, 33f }, w.Grad!.ToArray());
        tape.Reset();
        MicroBatch(w, [100f, 0f, -1f]);
        Assert.Equal(new[] { 111f, 22f, 32f }, w.Grad!.ToArray());
        w.ZeroGrad();
        MicroBatch(w, [4f, 5f, 6f]);
        Assert.Equal(new[] { 4f, 5f, 6f }, w.Grad!.ToArray());
    }

    [Fact]
    public void MicroBatchesSumToTheFullBatchGradient()
    {
        // Mean loss over 4 rows of a linear layer = ¼ Σ of the per-row-pair losses with weight ½ each.
        const int Rows = 4, C = 7, N = 5;
        var xs = GradCheck.Randn(Rows * C, 60); var ws = GradCheck.Randn(C * N, 61);
        using var wt = Tensor.FromArray(ws, C, N);
        using var w = Variable.Parameter(wt);
        using var tape = new Tape();
        using var _ = AG.UseTape(tape);
        using (var xt = Tensor.FromArray(xs, Rows, C)) Ops.Mean(Ops.Tanh(Ops.MatMul(Variable.Constant(xt), w))).Backward();
        var full = w.Grad!.ToArray();
        w.ZeroGrad(); tape.Reset();
        for (int half = 0; half < 2; half++)
        {
            using var xt = Tensor.FromArray(xs.AsSpan(half * 2 * C, 2 * C), 2, C);
            (Ops.Mean(Ops.Tanh(Ops.MatMul(Variable.Constant(xt), w))) * 0.5f).Backward();
        }
        GradCheck.Close(full, w.Grad!.ToArray(), 1e-6, 1e-5, "accumulated dW");
    }

    [Fact]
    public void NoGradRecordsNothingAndComputesTheSameValues()
    {
        using var at = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        using var a = Variable.Parameter(at);
        using var tape = new Tape();
        using var _ = AG.UseTape(tape);
        float withGrad = Ops.Sum(Ops.Exp(Ops.MatMul(a, a))).Item();
        int recorded = tape.Count;
        Assert.True(recorded > 0);
        tape.Reset();
        Variable y;
        using (AG.NoGrad())
        {
            Assert.False(AG.IsGradEnabled);
            y = Ops.Sum(Ops.Exp(Ops.MatMul(a, a)));
        }
        Assert.True(AG.IsGradEnabled);
        Assert.Equal(0, tape.Count);
        Assert.False(y.RequiresGrad);
        Assert.Equal(withGrad, y.Item());
        Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Null(a.Grad);
    }

    [Fact]
    public void NoGradScopesNest()
    {
        using (AG.NoGrad())
        {
            using (AG.NoGrad()) Assert.False(AG.IsGradEnabled);
            Assert.False(AG.IsGradEnabled);
        }
        Assert.True(AG.IsGradEnabled);
    }

    [Fact]
    public void DetachStopsTheGradient()
    {
        // y = x ⊙ detach(x): dy/dx = detach(x) only (one path), i.e. x, not 2x.
        using var xt = Tensor.FromArray([3f, -2f], 2);
        using var x = Variable.Parameter(xt);
        using var tape = new Tape();
        using var _ = AG.UseTape(tape);
        Ops.Sum(x * x.Detach()).Backward();
        Assert.Equal(new[] { 3f, -2f }, x.Grad!.ToArray());
    }

    [Fact]
    public void ResetRecyclesTheArena()
    {
        using var wt = Tensor.FromArray(GradCheck.Randn(64, 62), 8, 8);
        using var w = Variable.Parameter(wt);
        using var tape = new Tape();
        using var _ = AG.UseTape(tape);
        void Step() { Ops.Sum(Ops.LogSoftmax(Ops.MatMul(w, w, transB: true))).Backward(); tape.Reset(); }
        Step();
        int created = tape.BuffersCreated; long bytes = tape.ArenaBytes;
        for (int i = 0; i < 3; i++) Step();
        Assert.Equal(created, tape.BuffersCreated);
        Assert.Equal(bytes, tape.ArenaBytes);
    }

    [Fact]
    public void ReleasedActivationsAndConsumedGraphsThrow()
    {
        using var xt = Tensor.FromArray([1f, 2f], 2);
        using var x = Variable.Parameter(xt);
        using var tape = new Tape();
        using var _ = AG.UseTape(tape);
        var loss = Ops.Sum(x * x);
        loss.Backward();
        Assert.Throws<InvalidOperationException>(() => loss.Backward());
        tape.Reset();
        Assert.Throws<ObjectDisposedException>(() => loss.Item());
    }

    [Fact]
    public void ShapeMismatchesNameBothShapes()
    {
        using var at = Tensor.Zeros(DType.F32, 2, 3);
        using var bt = Tensor.Zeros(DType.F32, 3, 2);
        using var ct = Tensor.Zeros(DType.F32, 4, 5);
        using var a = Variable.Parameter(at);
        using var b = Variable.Parameter(bt);
        using var c = Variable.Parameter(ct);
        using var tape = new Tape();
        using var _ = AG.UseTape(tape);
        void Both(Action f, string s1, string s2)
        {
            var e = Assert.ThrowsAny<ArgumentException>(f);
            Assert.Contains(s1, e.Message);
            Assert.Contains(s2, e.Message);
        }
        Both(() => Ops.Add(a, b), "(2, 3)", "(3, 2)");
        Both(() => Ops.Sub(a, b), "(2, 3)", "(3, 2)");
        Both(() => Ops.Mul(a, b), "(2, 3)", "(3, 2)");
        Both(() => Ops.Div(a, b), "(2, 3)", "(3, 2)");
        Both(() => Ops.Minimum(a, b), "(2, 3)", "(3, 2)");
        Both(() => Ops.MatMul(a, c), "(2, 3)", "(4, 5)");
        Both(() => Ops.MatMul(a, a), "(2, 3)", "(2, 3)");
        Both(() => Ops.Concat(0, a, c), "(2, 3)", "(4, 5)");
        Both(() => Ops.AddRowVector(a, c), "(2, 3)", "(4, 5)");
        using var mask = Tensor.Zeros(DType.F32, 3, 2);
        Both(() => Ops.Where(mask, a, a), "(3, 2)", "(2, 3)");
        Both(() => Ops.Reshape(a, 4, 2), "(2, 3)", "(4, 2)");
        using var idx = Tensor.FromArray([0, 1, 2], 3);
        Both(() => Ops.Gather(a, idx), "(2, 3)", "(3)");
        using var seed = Tensor.Zeros(DType.F32, 3, 2);
        Both(() => (a + a).Backward(seed), "(2, 3)", "(3, 2)");
    }
}
