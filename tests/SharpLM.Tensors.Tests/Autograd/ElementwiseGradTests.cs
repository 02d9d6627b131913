// Finite-difference checks (float64 references) of the element-wise autograd primitives: add, sub,
// mul, div, scalar affine, exp, log, logsigmoid, sigmoid, tanh, relu, clamp, minimum/maximum, where.
// Sizes are odd (1, 7, 33, and 4099 / 70001 to cross the 4096-element block and the parallel driver).
using SharpLM.Tensors.Autograd;
using static SharpLM.Tensors.Tests.Autograd.GradCheck;

namespace SharpLM.Tensors.Tests.Autograd;

public sealed class ElementwiseGradTests
{
    private static double[] Map(double[] x, Func<double, double> f) => Array.ConvertAll(x, v => f(v));

    private static double[] Zip(double[] a, double[] b, Func<double, double, double> f)
    {
        var y = new double[a.Length];
        for (int i = 0; i < y.Length; i++) y[i] = f(a[i], b[i]);
        return y;
    }

    public static TheoryData<int[]> Shapes => new() { new[] { 1 }, new[] { 7 }, new[] { 3, 11 }, new[] { 33, 5 }, new[] { 4099 } };

    [Theory, MemberData(nameof(Shapes))]
    public void Add(int[] s) => Check("add", [In(1, s), In(2, s)], v => v[0] + v[1], x => Zip(x[0], x[1], (a, b) => a + b));

    [Theory, MemberData(nameof(Shapes))]
    public void Sub(int[] s) => Check("sub", [In(3, s), In(4, s)], v => Ops.Sub(v[0], v[1]), x => Zip(x[0], x[1], (a, b) => a - b));

    [Theory, MemberData(nameof(Shapes))]
    public void Mul(int[] s) => Check("mul", [In(5, s), In(6, s)], v => v[0] * v[1], x => Zip(x[0], x[1], (a, b) => a * b));

    [Theory, MemberData(nameof(Shapes))]
    public void Div(int[] s)
    {
        // Denominators kept away from 0 (|b| ∈ [0.5, 2]) so the quotient's curvature stays moderate.
        var b = Uniform(Count(s), 8, 0.5f, 2f);
        for (int i = 0; i < b.Length; i += 2) b[i] = -b[i];
        Check("div", [In(7, s), new GradInput(s, b)], v => v[0] / v[1], x => Zip(x[0], x[1], (p, q) => p / q), rtol: 2e-4);
    }

    [Fact]
    public void SameVariableTwiceAccumulatesBothPaths()
    {
        // y = x ⊙ x + x: dy/dx = 2x + 1, reached through three uses of one leaf.
        Check("x*x+x", [In(9, 13)], v => v[0] * v[0] + v[0], x => Map(x[0], a => a * a + a));
    }

    [Theory, MemberData(nameof(Shapes))]
    public void ScalarOps(int[] s)
    {
        Check("affine", [In(10, s)], v => Ops.Affine(v[0], -1.5f, 0.25f), x => Map(x[0], a => -1.5 * a + 0.25), fwdAtol: 1e-6);
        Check("c - x / c", [In(11, s)], v => 2f - v[0] / 4f, x => Map(x[0], a => 2 - a * 0.25));
        Check("neg", [In(12, s)], v => -v[0], x => Map(x[0], a => -a));
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Exp(int[] s) => Check("exp", [In(13, s)], v => Ops.Exp(v[0]), x => Map(x[0], Math.Exp), fwdRtol: 1e-6);

    [Theory, MemberData(nameof(Shapes))]
    public void Log(int[] s) => Check("log", [new GradInput(s, Uniform(Count(s), 14, 0.2f, 5f))], v => Ops.Log(v[0]), x => Map(x[0], Math.Log), fwdAtol: 1e-6);

    private static double LogSig(double a) => Math.Min(a, 0) - Math.Log(1 + Math.Exp(-Math.Abs(a)));

    [Theory, MemberData(nameof(Shapes))]
    public void LogSigmoid(int[] s) => Check("logsigmoid", [new GradInput(s, Randn(Count(s), 15, 4f))], v => Ops.LogSigmoid(v[0]), x => Map(x[0], LogSig));

    [Fact]
    public void LogSigmoidIsStableAtExtremes()
    {
        // log σ(x) at |x| = 100: −100 (not −∞) and ≈ −e⁻¹⁰⁰ ≈ −3.7e-44 (not 0 − overflow); gradients σ(−x) = 1 and ≈ e⁻¹⁰⁰.
        Check("logsigmoid extremes", [new GradInput([4], [-100f, -30f, 30f, 100f])], v => Ops.LogSigmoid(v[0]), x => Map(x[0], LogSig), atol: 1e-7, fwdAtol: 1e-6);
    }

    [Theory, MemberData(nameof(Shapes))]
    public void SigmoidTanh(int[] s)
    {
        Check("sigmoid", [In(16, s)], v => Ops.Sigmoid(v[0]), x => Map(x[0], a => 1 / (1 + Math.Exp(-a))), fwdAtol: 1e-6);
        Check("tanh", [In(17, s)], v => Ops.Tanh(v[0]), x => Map(x[0], Math.Tanh), fwdAtol: 1e-6);
    }

    /// <summary>Values at least <paramref name="gap"/> away from each kink, so differences never straddle one.</summary>
    private static float[] AwayFrom(float[] x, float gap, params float[] kinks)
    {
        for (int i = 0; i < x.Length; i++)
            foreach (float k in kinks)
                if (Math.Abs(x[i] - k) < gap) x[i] = k + (x[i] >= k ? gap : -gap);
        return x;
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Relu(int[] s) => Check("relu", [new GradInput(s, AwayFrom(Randn(Count(s), 18), 1e-3f, 0f))], v => Ops.Relu(v[0]), x => Map(x[0], a => Math.Max(a, 0)));

    [Theory, MemberData(nameof(Shapes))]
    public void Clamp(int[] s)
    {
        var x = AwayFrom(Randn(Count(s), 19), 1e-3f, -0.8f, 1.2f);
        Check("clamp", [new GradInput(s, x)], v => Ops.Clamp(v[0], -0.8f, 1.2f), z => Map(z[0], a => Math.Clamp(a, -0.8, 1.2)));
    }

    [Fact]
    public void ClampPassesGradientAtTheBoundsLikeTorch()
    {
        // torch.clamp's gradient is 1 where lo ≤ x ≤ hi (bounds included), 0 strictly outside.
        using var t = Tensor.FromArray([-2f, -1f, 0f, 1f, 2f], 5);
        using var x = Variable.Parameter(t);
        using var tape = new Tape();
        using (SharpLM.Tensors.Autograd.Autograd.UseTape(tape)) Ops.Sum(Ops.Clamp(x, -1f, 1f)).Backward();
        Assert.Equal(new[] { 0f, 1f, 1f, 1f, 0f }, x.Grad!.ToArray());
    }

    [Theory, MemberData(nameof(Shapes))]
    public void MinimumMaximum(int[] s)
    {
        var a = Randn(Count(s), 20); var b = Randn(Count(s), 21);
        for (int i = 0; i < a.Length; i++) if (Math.Abs(a[i] - b[i]) < 1e-3f) b[i] = a[i] + 1e-2f;
        Check("minimum", [new GradInput(s, a), new GradInput(s, b)], v => Ops.Minimum(v[0], v[1]), x => Zip(x[0], x[1], Math.Min));
        Check("maximum", [new GradInput(s, a), new GradInput(s, b)], v => Ops.Maximum(v[0], v[1]), x => Zip(x[0], x[1], Math.Max));
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(7, true)]
    [InlineData(33, false)]
    [InlineData(4099, true)]
    public void Where(int n, bool intMask)
    {
        var r = new Random(22 + n);
        var bits = new bool[n];
        for (int i = 0; i < n; i++) bits[i] = r.Next(2) == 1;
        using var mask = intMask ? Tensor.FromArray(Array.ConvertAll(bits, q => q ? 3 : 0), n) : Tensor.FromArray(Array.ConvertAll(bits, q => q ? 1f : 0f), n);
        Check("where", [In(23, n), In(24, n)], v => Ops.Where(mask, v[0], v[1]), x => { var y = new double[n]; for (int i = 0; i < n; i++) y[i] = bits[i] ? x[0][i] : x[1][i]; return y; });
        Check("masked fill", [In(25, n)], v => Ops.Where(mask, v[0], -7.5f), x => { var y = new double[n]; for (int i = 0; i < n; i++) y[i] = bits[i] ? x[0][i] : -7.5; return y; });
    }

    [Fact]
    public void OnlyInputsThatRequireGradReceiveOne()
    {
        int[] s = [2, 9];
        Check("mul (const b)", [In(26, s), new GradInput(s, Randn(18, 27), RequiresGrad: false)], v => v[0] * v[1], x => Zip(x[0], x[1], (a, b) => a * b));
        Check("div (const a)", [new GradInput(s, Randn(18, 28), RequiresGrad: false), new GradInput(s, Uniform(18, 29, 1f, 2f))], v => v[0] / v[1], x => Zip(x[0], x[1], (a, b) => a / b));
    }
}
