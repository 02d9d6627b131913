// Compares autograd (and the GEMM kernel it runs on) with fixtures written by PyTorch autograd
// (reference/autograd_golden.py; torch version and seed recorded in each file): matmul in all four
// layouts with and without accumulation into C and with gradients, a batched product, and two
// composite post-training losses (DPO and clipped-surrogate PPO) built only from primitives.
// Tolerances: f32 against f32 torch; a 33-long dot product differs by a few ulps of its terms.
using System.Runtime.CompilerServices;
using System.Text.Json;
using SharpLM.Tensors.Autograd;
using SharpLM.Tensors.Kernels;
using AG = SharpLM.Tensors.Autograd.Autograd;

namespace SharpLM.Tensors.Tests.Autograd;

public sealed class AutogradGoldenTests
{
    private sealed class Fixture
    {
        private readonly JsonElement _root;
        public Fixture(string name)
        {
            string path = Path.Combine(Dir(), name + ".json");
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            _root = doc.RootElement.Clone();
            Assert.False(string.IsNullOrEmpty(_root.GetProperty("torch").GetString()), $"{path}: no torch version recorded");
        }
        public int I(string k) => _root.GetProperty("meta").GetProperty(k).GetInt32();
        public double D(string k) => _root.GetProperty("meta").GetProperty(k).GetDouble();
        public int[] Shape(string k)
        {
            var s = _root.GetProperty("tensors").GetProperty(k).GetProperty("shape");
            var a = new int[s.GetArrayLength()]; int i = 0;
            foreach (var e in s.EnumerateArray()) a[i++] = e.GetInt32();
            return a;
        }
        public float[] F(string k)
        {
            var data = _root.GetProperty("tensors").GetProperty(k).GetProperty("data");
            var a = new float[data.GetArrayLength()]; int i = 0;
            foreach (var e in data.EnumerateArray()) a[i++] = e.GetSingle();
            return a;
        }
        public int[] Ints(string k)
        {
            var data = _root.GetProperty("tensors").GetProperty(k).GetProperty("data");
            var a = new int[data.GetArrayLength()]; int i = 0;
            foreach (var e in data.EnumerateArray()) a[i++] = e.GetInt32();
            return a;
        }
        public Tensor T(string k) => Tensor.FromArray(F(k), Shape(k));

        private static string Dir([CallerFilePath] string src = "")
        {
            string d = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(src)!, "..", "Fixtures", "autograd"));
            if (Directory.Exists(d)) return d;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                string c = Path.Combine(dir.FullName, "tests", "SharpLM.Tensors.Tests", "Fixtures", "autograd");
                if (Directory.Exists(c)) return c;
            }
            throw new DirectoryNotFoundException($"autograd fixtures not found (looked in {d} and above {AppContext.BaseDirectory})");
        }
    }

    [Theory]
    [InlineData("nn")]
    [InlineData("nt")]
    [InlineData("tn")]
    [InlineData("tt")]
    public void MatMulEveryLayout(string tag)
    {
        var f = new Fixture("matmul"); int M = f.I("M"), N = f.I("N"), K = f.I("K");
        bool ta = tag[0] == 't', tb = tag[1] == 't';
        using var at = f.T(tag + "_a"); using var bt = f.T(tag + "_b"); using var dc = f.T(tag + "_dc");
        using var a = Variable.Parameter(at); using var b = Variable.Parameter(bt);
        using var tape = new Tape();
        using (AG.UseTape(tape))
        {
            var c = Ops.MatMul(a, b, ta, tb);
            GradCheck.Close(f.F(tag + "_c"), c.Data.ToArray(), 1e-5, 1e-5, $"{tag} C");
            c.Backward(dc);
        }
        GradCheck.Close(f.F(tag + "_da"), a.Grad!.ToArray(), 1e-5, 1e-5, $"{tag} dA");
        GradCheck.Close(f.F(tag + "_db"), b.Grad!.ToArray(), 1e-5, 1e-5, $"{tag} dB");

        // The kernel's accumulate flag: C = C0 + op(A)·op(B) in place.
        var acc = f.F(tag + "_c0");
        Gemm.Run(ta, tb, M, N, K, f.F(tag + "_a"), f.F(tag + "_b"), acc, accumulate: true);
        GradCheck.Close(f.F(tag + "_c_acc"), acc, 1e-5, 1e-5, $"{tag} C0 + C");
    }

    [Fact]
    public void BatchedMatMul()
    {
        var f = new Fixture("matmul");
        using var at = f.T("bmm_a"); using var bt = f.T("bmm_b"); using var dc = f.T("bmm_dc");
        using var a = Variable.Parameter(at); using var b = Variable.Parameter(bt);
        using var tape = new Tape();
        using (AG.UseTape(tape))
        {
            var c = Ops.MatMul(a, b);
            GradCheck.Close(f.F("bmm_c"), c.Data.ToArray(), 1e-5, 1e-5, "bmm C");
            c.Backward(dc);
        }
        GradCheck.Close(f.F("bmm_da"), a.Grad!.ToArray(), 1e-5, 1e-5, "bmm dA");
        GradCheck.Close(f.F("bmm_db"), b.Grad!.ToArray(), 1e-5, 1e-5, "bmm dB");
    }

    [Fact]
    public void DpoLossFromPrimitives()
    {
        var f = new Fixture("dpo"); int P = f.I("P"), T = f.I("T"); float beta = (float)f.D("beta");
        using var lt = f.T("logits");
        using var labels = Tensor.FromArray(f.Ints("labels"), 2 * P, T);
        using var mask = f.T("mask");
        using var reft = f.T("ref_logps");
        using var logits = Variable.Parameter(lt);
        var refLogps = Variable.Constant(reft);
        using var tape = new Tape();
        using (AG.UseTape(tape))
        {
            var logp = Ops.LogSoftmax(logits);                                   // (2P, T, V)
            var tok = Ops.Gather(logp, labels);                                  // (2P, T)
            var seq = Ops.Sum(Ops.Where(mask, tok, 0f), axis: -1);               // (2P)
            GradCheck.Close(f.F("seq"), seq.Data.ToArray(), 2e-5, 1e-5, "sequence log-probs");
            var rel = seq - refLogps;                                            // (2P)
            var margin = beta * (Ops.Narrow(rel, 0, 0, P) - Ops.Narrow(rel, 0, P, P));
            var loss = -Ops.Mean(Ops.LogSigmoid(margin));
            GradCheck.Close(f.F("loss"), [loss.Item()], 1e-6, 1e-5, "loss");
            loss.Backward();
        }
        GradCheck.Close(f.F("dlogits"), logits.Grad!.ToArray(), 1e-7, 1e-4, "dlogits");
    }

    [Fact]
    public void PpoClippedSurrogateFromPrimitives()
    {
        var f = new Fixture("ppo"); int N = f.I("N"); float eps = (float)f.D("eps");
        using var lt = f.T("logits");
        using var actions = Tensor.FromArray(f.Ints("actions"), N);
        using var oldt = f.T("old_logp"); using var advt = f.T("adv");
        using var logits = Variable.Parameter(lt);
        var old = Variable.Constant(oldt); var adv = Variable.Constant(advt);
        using var tape = new Tape();
        using (AG.UseTape(tape))
        {
            var logp = Ops.Gather(Ops.LogSoftmax(logits), actions);             // (N)
            var ratio = Ops.Exp(logp - old);
            GradCheck.Close(f.F("ratio"), ratio.Data.ToArray(), 1e-6, 1e-5, "ratio");
            var surr = Ops.Minimum(ratio * adv, Ops.Clamp(ratio, 1 - eps, 1 + eps) * adv);
            var loss = -Ops.Mean(surr);
            GradCheck.Close(f.F("loss"), [loss.Item()], 1e-6, 1e-5, "loss");
            loss.Backward();
        }
        GradCheck.Close(f.F("dlogits"), logits.Grad!.ToArray(), 1e-7, 1e-4, "dlogits");
    }
}
