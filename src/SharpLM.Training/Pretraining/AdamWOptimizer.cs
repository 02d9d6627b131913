// AdamW over a model's parameters, with weight-decay groups (ParamGroups), the global gradient norm,
// clipping by that norm, and the moments as PyTorch names them (exp_avg / exp_avg_sq) for checkpoints.
// The update is torch.optim.AdamW's single-tensor rule (Loshchilov & Hutter 2019), the same as the
// engine's Optim.AdamW kernel, fused with two things a training step needs in the same pass over memory:
// the clip factor (g ← s·g; torch.nn.utils.clip_grad_norm_ multiplies the gradients in place first) and
// zeroing the gradient for the next step. For GPT-2 124M this turns norm + scale + update + clear
// (≈ 6 GB of traffic) into norm + update (≈ 4 GB). With s = 1 the update is bit-identical to Optim.AdamW.
// Parameters that sit next to each other in memory (a model keeping all weights in one flat buffer, as
// llm.c does) and share a decay group are updated as one run, so a GPT-2 step is a handful of parallel
// loops rather than 150. The global norm is √ of Σg² over fixed 16384-element chunks of those runs, each
// chunk's partial in double (Optim.GlobalNorm's scheme) in a buffer allocated once, summed in order:
// deterministic for any thread count, and a step allocates nothing.
// Not here: other optimizers (Muon, Lion), ZeRO sharding, per-group learning rates.
using System.Runtime.Intrinsics;
using SharpLM.Models.IO;
using SharpLM.Models.Modeling;
using SharpLM.Tensors;
using SharpLM.Tensors.Threading;
using SharpLM.Training.Checkpoints;
using SharpLM.Training.Optim;

namespace SharpLM.Training.Pretraining;

/// <summary>AdamW hyper-parameters (PyTorch's names and GPT-2 reproduction defaults).</summary>
/// <param name="Beta1">First-moment decay.</param>
/// <param name="Beta2">Second-moment decay.</param>
/// <param name="Eps">Denominator epsilon.</param>
/// <param name="WeightDecay">Decoupled weight decay of the decayed group (the other group gets 0).</param>
public sealed record AdamWSettings(double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-8, double WeightDecay = 0.1);

/// <summary>AdamW with weight-decay groups, global-norm clipping and checkpointable moments.</summary>
public sealed unsafe class AdamWOptimizer : IDisposable
{
    private const int Block = 16384;
    private readonly Parameter[] _params;
    private readonly Tensor _mFlat, _vFlat;   // all moments, parameter after parameter
    private readonly Tensor[] _m, _v;         // per-parameter views of them
    private readonly bool[] _decay;
    private readonly Segment[] _segs;         // runs of parameters adjacent in memory with one decay flag
    private readonly double[] _partials;      // Σg² per chunk of every run, summed in order

    private struct Segment
    {
        public float* P, G, M, V;
        public long N;
        public bool Decay;
    }

    /// <summary>Hyper-parameters.</summary>
    public AdamWSettings Settings { get; }

    /// <summary>Updates applied so far (AdamW's t after the last update; skipped steps do not count).</summary>
    public long Updates { get; private set; }

    /// <summary>True for each parameter (in model order) that gets weight decay.</summary>
    public IReadOnlyList<bool> Decays => _decay;

    /// <summary>Zero moments for every parameter of <paramref name="parameters"/>.</summary>
    public AdamWOptimizer(IReadOnlyList<Parameter> parameters, AdamWSettings settings)
    {
        if (!(settings.Beta1 is >= 0 and < 1) || !(settings.Beta2 is >= 0 and < 1))
            throw new ArgumentException($"adamw: betas must be in [0, 1), got ({settings.Beta1}, {settings.Beta2})");
        if (!(settings.Eps > 0) || !(settings.WeightDecay >= 0))
            throw new ArgumentException($"adamw: eps must be > 0 and weight decay ≥ 0, got eps {settings.Eps}, weight decay {settings.WeightDecay}");
        Settings = settings;
        _params = [.. parameters];
        _m = new Tensor[_params.Length];
        _v = new Tensor[_params.Length];
        _decay = new bool[_params.Length];
        var names = new HashSet<string>(StringComparer.Ordinal);
        long total = 0;
        foreach (var p in _params)
        {
            if (!names.Add(p.Name)) throw new ArgumentException($"adamw: parameter '{p.Name}' appears twice");
            if (p.Value.DType != DType.F32 || p.Grad.DType != DType.F32 || !p.Value.IsContiguous || !p.Grad.IsContiguous || p.Value.Length != p.Grad.Length)
                throw new ArgumentException($"adamw: parameter '{p.Name}' needs contiguous f32 value and gradient of one size, got {p.Value} and {p.Grad}");
            total += p.Value.Length;
        }
        if (total > int.MaxValue) throw new ArgumentException($"adamw: {total} parameters exceed one moment buffer of {int.MaxValue} floats");
        _mFlat = Tensor.Zeros(DType.F32, (int)Math.Max(1, total));
        _vFlat = Tensor.Zeros(DType.F32, (int)Math.Max(1, total));
        var segs = new List<Segment>();
        long off = 0;
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            int n = (int)p.Value.Length;
            _m[i] = _mFlat.Narrow(0, (int)off, n).Reshape(p.Value.Shape.ToArray());
            _v[i] = _vFlat.Narrow(0, (int)off, n).Reshape(p.Value.Shape.ToArray());
            _decay[i] = ParamGroups.Decays(p.Name, p.Value.Rank);
            off += n;
            if (n == 0) continue;
            var seg = new Segment { P = p.Value.Data, G = p.Grad.Data, M = _m[i].Data, V = _v[i].Data, N = n, Decay = _decay[i] };
            if (segs.Count > 0 && segs[^1] is var last && last.Decay == seg.Decay && last.P + last.N == seg.P && last.G + last.N == seg.G)
            {
                last.N += n;
                segs[^1] = last;
            }
            else segs.Add(seg);
        }
        _segs = [.. segs];
        long chunkCount = 0;
        foreach (var sg in _segs) chunkCount += Chunks(sg.N);
        _partials = new double[chunkCount];
    }

    /// <summary>Runs of parameters updated as one (adjacent in memory, same decay group).</summary>
    internal int SegmentCount => _segs.Length;

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var sg in _segs)
        {
            var body = new ClearBody { G = sg.G, N = sg.N };
            WorkerPool.For(Chunks(sg.N), 1, ref body);
        }
    }

    /// <summary>√Σ‖g‖² over all gradients (NaN/∞ if any gradient is); allocates nothing.</summary>
    public double GradNorm()
    {
        fixed (double* partial = _partials)
        {
            long c0 = 0;
            foreach (var sg in _segs)
            {
                var body = new NormBody { G = sg.G, N = sg.N, Partial = partial + c0 };
                int chunks = Chunks(sg.N);
                WorkerPool.For(chunks, 1, ref body);
                c0 += chunks;
            }
        }
        double s = 0;
        foreach (double x in _partials) s += x; // fixed order: deterministic for any thread count
        return Math.Sqrt(s);
    }

    /// <summary>
    /// One AdamW update at learning rate <paramref name="lr"/> with gradients multiplied by
    /// <paramref name="gradScale"/> (the clip factor), then every gradient is zeroed — unless
    /// <paramref name="clearGrads"/> is false because the model has discarded them itself
    /// (<see cref="ILanguageModel.DiscardGradients"/>): that saves a write of every gradient.
    /// </summary>
    public void Step(double lr, float gradScale = 1f, bool clearGrads = true)
    {
        if (!(lr >= 0) || !double.IsFinite(lr)) throw new ArgumentException($"adamw: learning rate must be finite and ≥ 0, got {lr}");
        Updates++;
        float b1 = (float)Settings.Beta1, b2 = (float)Settings.Beta2;
        int t = checked((int)Updates);
        float flr = (float)lr;
        foreach (var sg in _segs)
        {
            float wd = sg.Decay ? (float)Settings.WeightDecay : 0f;
            var body = new FusedBody
            {
                P = sg.P,
                G = sg.G,
                M = sg.M,
                V = sg.V,
                N = sg.N,
                Decay = 1f - flr * wd,
                B1 = b1,
                B2 = b2,
                Eps = (float)Settings.Eps,
                GradScale = gradScale,
                StepSize = flr / (1f - MathF.Pow(b1, t)),
                Bc2Sqrt = MathF.Sqrt(1f - MathF.Pow(b2, t)),
                Clear = clearGrads,
            };
            WorkerPool.For(Chunks(sg.N), 1, ref body);
        }
    }

    /// <summary>The moments as safetensors entries named "&lt;param&gt;.exp_avg" / ".exp_avg_sq" (views of live memory).</summary>
    public IEnumerable<SafetensorsEntry> StateEntries()
    {
        for (int i = 0; i < _params.Length; i++)
        {
            yield return SafetensorsEntry.FromTensor(CheckpointStore.ExpAvgName(_params[i].Name), _m[i]);
            yield return SafetensorsEntry.FromTensor(CheckpointStore.ExpAvgSqName(_params[i].Name), _v[i]);
        }
    }

    /// <summary>Restores the moments from an optimizer.safetensors and the update count; errors name the file and tensor.</summary>
    public void LoadState(string path, long updates)
    {
        if (updates < 0) throw new ArgumentException($"{path}: optimizer update count must be ≥ 0, got {updates}");
        using var f = SafetensorsFile.Open(path);
        for (int i = 0; i < _params.Length; i++)
        {
            ReadInto(f, CheckpointStore.ExpAvgName(_params[i].Name), _m[i]);
            ReadInto(f, CheckpointStore.ExpAvgSqName(_params[i].Name), _v[i]);
        }
        Updates = updates;
    }

    /// <summary>Reads tensor <paramref name="name"/> of <paramref name="f"/> into <paramref name="dst"/>, checking its shape.</summary>
    internal static void ReadInto(SafetensorsFile f, string name, Tensor dst)
    {
        if (!f.Contains(name)) throw new InvalidDataException($"{f.Path}: tensor '{name}' missing");
        var info = f.Info(name);
        bool same = info.Shape.Length == dst.Rank;
        for (int d = 0; same && d < dst.Rank; d++) same = info.Shape[d] == dst.Shape[d];
        if (!same) throw new InvalidDataException($"{f.Path}: tensor '{name}' has shape {info.ShapeText}; expected {Tensor.Format(dst.Shape)}");
        f.ReadF32(name, dst.AsSpan<float>());
    }

    private static int Chunks(long n) => (int)((n + Block - 1) / Block);

    /// <inheritdoc />
    public void Dispose()
    {
        _mFlat.Dispose();
        _vFlat.Dispose();
    }

    // Σg² of each 16384-element chunk: float lanes over runs of 256 elements, each run widened to double
    // (the scheme of Optim.GlobalNorm, here into a preallocated buffer).
    private struct NormBody : IParallelBody
    {
        public float* G; public long N; public double* Partial;
        public readonly void Execute(int start, int end)
        {
            for (int c = start; c < end; c++)
            {
                long i = (long)c * Block, n = Math.Min(N, i + Block);
                double s = 0;
                while (i < n)
                {
                    long stop = Math.Min(n, i + 256);
                    float run = 0;
                    if (Vector512.IsHardwareAccelerated)
                    {
                        var acc = Vector512<float>.Zero;
                        for (; i + 16 <= stop; i += 16) { var g = Vector512.Load(G + i); acc += g * g; }
                        run = Vector512.Sum(acc);
                    }
                    else if (Vector256.IsHardwareAccelerated)
                    {
                        var acc = Vector256<float>.Zero;
                        for (; i + 8 <= stop; i += 8) { var g = Vector256.Load(G + i); acc += g * g; }
                        run = Vector256.Sum(acc);
                    }
                    for (; i < stop; i++) run += G[i] * G[i];
                    s += run;
                }
                Partial[c] = s;
            }
        }
    }

    private struct ClearBody : IParallelBody
    {
        public float* G; public long N;
        public readonly void Execute(int start, int end)
        {
            long i = (long)start * Block, n = Math.Min(N, (long)end * Block);
            new Span<float>(G + i, (int)(n - i)).Clear();
        }
    }

    // Optim.AdamW's body with g ← s·g first and g ← 0 after: the same operations in the same order.
    private struct FusedBody : IParallelBody
    {
        public float* P, G, M, V; public long N; public float Decay, B1, B2, Eps, StepSize, Bc2Sqrt, GradScale; public bool Clear;
        public readonly void Execute(int start, int end)
        {
            long i = (long)start * Block, n = Math.Min(N, (long)end * Block);
            float w1 = 1f - B1, w2 = 1f - B2;
            bool clear = Clear;
            if (Vector512.IsHardwareAccelerated)
            {
                var dec = Vector512.Create(Decay); var vb1 = Vector512.Create(B1); var vw1 = Vector512.Create(w1); var vb2 = Vector512.Create(B2); var vw2 = Vector512.Create(w2);
                var eps = Vector512.Create(Eps); var step = Vector512.Create(StepSize); var bc = Vector512.Create(Bc2Sqrt); var gs = Vector512.Create(GradScale);
                for (; i + 16 <= n; i += 16)
                {
                    var g = Vector512.Load(G + i) * gs; var mm = Vector512.Load(M + i); var vv = Vector512.Load(V + i);
                    var p = Vector512.Load(P + i) * dec;
                    mm = mm * vb1 + g * vw1;
                    vv = vv * vb2 + (g * g) * vw2;
                    var denom = Vector512.Sqrt(vv) / bc + eps;
                    p = p - step * (mm / denom);
                    p.Store(P + i); mm.Store(M + i); vv.Store(V + i); if (clear) Vector512<float>.Zero.Store(G + i);
                }
            }
            if (Vector256.IsHardwareAccelerated)
            {
                var dec = Vector256.Create(Decay); var vb1 = Vector256.Create(B1); var vw1 = Vector256.Create(w1); var vb2 = Vector256.Create(B2); var vw2 = Vector256.Create(w2);
                var eps = Vector256.Create(Eps); var step = Vector256.Create(StepSize); var bc = Vector256.Create(Bc2Sqrt); var gs = Vector256.Create(GradScale);
                for (; i + 8 <= n; i += 8)
                {
                    var g = Vector256.Load(G + i) * gs; var mm = Vector256.Load(M + i); var vv = Vector256.Load(V + i);
                    var p = Vector256.Load(P + i) * dec;
                    mm = mm * vb1 + g * vw1;
                    vv = vv * vb2 + (g * g) * vw2;
                    var denom = Vector256.Sqrt(vv) / bc + eps;
                    p = p - step * (mm / denom);
                    p.Store(P + i); mm.Store(M + i); vv.Store(V + i); if (clear) Vector256<float>.Zero.Store(G + i);
                }
            }
            for (; i < n; i++)
            {
                float g = G[i] * GradScale, mm = M[i], vv = V[i];
                float p = P[i] * Decay;
                mm = mm * B1 + g * w1;
                vv = vv * B2 + (g * g) * w2;
                p = p - StepSize * (mm / (MathF.Sqrt(vv) / Bc2Sqrt + Eps));
                P[i] = p; M[i] = mm; V[i] = vv; if (clear) G[i] = 0f;
            }
        }
    }
}
