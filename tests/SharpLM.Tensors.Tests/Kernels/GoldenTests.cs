// Compares the fast kernels with fixtures written by PyTorch (reference/kernels_golden.py; the torch
// version and seed are recorded in every file). Tolerances: float32 kernels against float32 torch, so a
// few ulps per reduction step — stated per comparison.
using System.Runtime.CompilerServices;
using System.Text.Json;
using SharpLM.Tensors.Kernels;
using static SharpLM.Tensors.Tests.Kernels.KernelAssert;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed unsafe class GoldenTests
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

        private static string Dir([CallerFilePath] string src = "")
        {
            string d = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(src)!, "..", "Fixtures", "kernels"));
            if (Directory.Exists(d)) return d;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                string c = Path.Combine(dir.FullName, "tests", "SharpLM.Tensors.Tests", "Fixtures", "kernels");
                if (Directory.Exists(c)) return c;
            }
            throw new DirectoryNotFoundException($"kernel fixtures not found (looked in {d} and above {AppContext.BaseDirectory})");
        }
    }

    [Fact]
    public void LayerNorm()
    {
        var f = new Fixture("layernorm"); int BT = f.I("BT"), C = f.I("C");
        var x = f.F("x"); var w = f.F("w"); var b = f.F("b"); var g = f.F("dout");
        var o = new float[BT * C]; var m = new float[BT]; var r = new float[BT];
        var dx = new float[BT * C]; var dw = new float[C]; var db = new float[C];
        fixed (float* po = o, pm = m, pr = r, px = x, pw = w, pb = b, pg = g, pdx = dx, pdw = dw, pdb = db)
        {
            Norms.LayerNormForward(po, pm, pr, px, pw, pb, BT, C, (float)f.D("eps"));
            Norms.LayerNormBackward(pdx, pdw, pdb, pg, px, pw, pm, pr, BT, C);
        }
        Close(f.F("out"), o, 1e-5, 1e-5, "out"); Close(f.F("mean"), m, 1e-6, 1e-5, "mean"); Close(f.F("rstd"), r, 1e-6, 1e-5, "rstd");
        Close(f.F("dx"), dx, 2e-5, 1e-4, "dx"); Close(f.F("dw"), dw, 2e-5, 1e-4, "dw"); Close(f.F("db"), db, 2e-5, 1e-4, "db");
    }

    [Fact]
    public void RmsNorm()
    {
        var f = new Fixture("rmsnorm"); int BT = f.I("BT"), C = f.I("C");
        var x = f.F("x"); var w = f.F("w"); var g = f.F("dout");
        var o = new float[BT * C]; var r = new float[BT]; var dx = new float[BT * C]; var dw = new float[C];
        fixed (float* po = o, pr = r, px = x, pw = w, pg = g, pdx = dx, pdw = dw)
        {
            Norms.RmsNormForward(po, pr, px, pw, BT, C, (float)f.D("eps"));
            Norms.RmsNormBackward(pdx, pdw, pg, px, pw, pr, BT, C);
        }
        Close(f.F("out"), o, 1e-5, 1e-5, "out"); Close(f.F("dx"), dx, 2e-5, 1e-4, "dx"); Close(f.F("dw"), dw, 2e-5, 1e-4, "dw");
    }

    [Fact]
    public void GeluSiluSwiGlu()
    {
        var f = new Fixture("activations"); int n = f.I("N");
        var x = f.F("x"); var g = f.F("dout"); var a = f.F("a"); var b = f.F("b");
        var gelu = new float[n]; var silu = new float[n]; var sw = new float[n];
        var dg = new float[n]; var ds = new float[n]; var da = new float[n]; var db = new float[n];
        fixed (float* px = x, pg = g, pa = a, pb = b, p1 = gelu, p2 = silu, p3 = sw, q1 = dg, q2 = ds, q3 = da, q4 = db)
        {
            Activations.GeluForward(p1, px, n); Activations.GeluBackward(q1, px, pg, n);
            Activations.SiluForward(p2, px, n); Activations.SiluBackward(q2, px, pg, n);
            Activations.SwiGluForward(p3, pa, pb, n); Activations.SwiGluBackward(q3, q4, pa, pb, pg, n);
        }
        Close(f.F("gelu"), gelu, 2e-6, 1e-5, "gelu"); Close(f.F("dgelu"), dg, 2e-6, 1e-5, "dgelu");
        Close(f.F("silu"), silu, 2e-6, 1e-5, "silu"); Close(f.F("dsilu"), ds, 2e-6, 1e-5, "dsilu");
        Close(f.F("swiglu"), sw, 2e-6, 1e-5, "swiglu"); Close(f.F("da"), da, 2e-6, 1e-5, "da"); Close(f.F("db"), db, 2e-6, 1e-5, "db");
    }

    [Theory]
    [InlineData(RopeStyle.RotateHalf, "rotate_half")]
    [InlineData(RopeStyle.Interleaved, "interleaved")]
    public void Rope_(RopeStyle style, string key)
    {
        var f = new Fixture("rope"); int B = f.I("B"), T = f.I("T"), NH = f.I("NH"), HS = f.I("HS"); int n = B * T * NH * HS;
        var cos = new float[T * HS / 2]; var sin = new float[T * HS / 2];
        Rope.BuildTables(cos, sin, T, HS, f.D("theta"));
        var x = f.F("x"); var g = f.F("dout"); var o = new float[n]; var dx = new float[n];
        fixed (float* px = x, pg = g, po = o, pdx = dx, pc = cos, ps = sin)
        {
            Rope.Forward(po, px, pc, ps, B, T, NH, HS, style);
            Rope.Backward(pdx, pg, pc, ps, B, T, NH, HS, style);
        }
        Close(f.F(key), o, 2e-6, 1e-5, key); Close(f.F("d" + key), dx, 2e-6, 1e-5, "d" + key);
    }

    [Fact]
    public void Softmax_()
    {
        var f = new Fixture("softmax"); int BT = f.I("BT"), C = f.I("C");
        var x = f.F("x"); var g = f.F("dout"); var o = new float[BT * C]; var dx = new float[BT * C];
        fixed (float* px = x, pg = g, po = o, pdx = dx) { Softmax.Forward(po, px, BT, C); Softmax.Backward(pdx, po, pg, BT, C); }
        Close(f.F("out"), o, 1e-7, 1e-5, "out"); Close(f.F("dx"), dx, 1e-6, 1e-5, "dx");
    }

    [Fact]
    public void CausalGqaAttention()
    {
        var f = new Fixture("attention"); int B = f.I("B"), T = f.I("T"), NH = f.I("NH"), NKV = f.I("NKV"), HS = f.I("HS");
        var q = f.F("q"); var k = f.F("k"); var v = f.F("v"); var g = f.F("dout");
        var o = new float[q.Length]; var lse = new float[B * NH * T];
        var dq = new float[q.Length]; var dk = new float[k.Length]; var dv = new float[v.Length];
        fixed (float* pq = q, pk = k, pv = v, pg = g, po = o, pl = lse, pdq = dq, pdk = dk, pdv = dv)
        {
            Attention.Forward(po, pl, pq, pk, pv, B, T, NH, NKV, HS);
            Attention.Backward(pdq, pdk, pdv, pg, pq, pk, pv, po, pl, B, T, NH, NKV, HS);
        }
        Close(f.F("out"), o, 1e-5, 1e-4, "out"); Close(f.F("lse"), lse, 1e-5, 1e-5, "lse");
        Close(f.F("dq"), dq, 2e-5, 1e-4, "dq"); Close(f.F("dk"), dk, 2e-5, 1e-4, "dk"); Close(f.F("dv"), dv, 2e-5, 1e-4, "dv");
    }

    [Fact]
    public void CrossEntropyWithIgnoreIndex()
    {
        var f = new Fixture("cross_entropy"); int BT = f.I("BT"), C = f.I("C"), V = f.I("V");
        var logits = f.F("logits"); var t = f.Ints("targets"); var h = f.F("h"); var W = f.F("W");
        var losses = new float[BT]; var lse = new float[BT]; var dl = new float[BT * V];
        var dh = new float[BT * C]; var dW = new float[V * C];
        float loss, loss2;
        fixed (float* px = logits, pl = losses, ps = lse, pd = dl, ph = h, pw = W, pdh = dh, pdw = dW) fixed (int* pt = t)
        {
            loss = CrossEntropy.Forward(pl, ps, px, pt, BT, V, f.I("ignore_index"));
            CrossEntropy.Backward(pd, px, ps, pt, BT, V, 1f, f.I("ignore_index"));
            loss2 = CrossEntropy.LmHead(pdh, pdw, ph, pw, pt, BT, C, V, chunkRows: 3, f.I("ignore_index"));
        }
        Assert.Equal(f.D("loss"), loss, 1e-5);
        Assert.Equal(f.D("loss"), loss2, 1e-5);
        Close(f.F("dlogits"), dl, 1e-7, 1e-5, "dlogits");
        Close(f.F("dh"), dh, 1e-6, 1e-4, "dh"); Close(f.F("dW"), dW, 1e-6, 1e-4, "dW");
    }

    [Fact]
    public void AdamWFiveSteps()
    {
        var f = new Fixture("adamw"); int n = f.I("N"), steps = f.I("steps");
        var p = f.F("p0"); var grads = f.F("grads"); var want = f.F("params");
        var m = new float[n]; var v = new float[n];
        for (int t = 1; t <= steps; t++)
        {
            fixed (float* pp = p, pg = grads, pm = m, pv = v)
                Optim.AdamW(pp, pg + (t - 1) * n, pm, pv, n, (float)f.D("lr"), (float)f.D("beta1"), (float)f.D("beta2"), (float)f.D("eps"), (float)f.D("weight_decay"), t);
            Close(want.AsSpan((t - 1) * n, n), p, 1e-7, 2e-7, $"params after step {t}");
        }
    }
}
