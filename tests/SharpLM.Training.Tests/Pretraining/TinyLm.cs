// A tiny causal LM with hand-derived gradients, so the pretraining loop is tested on its own:
// logits(x_t) = E[x_t]·U + b (an embedding, a linear head with bias: a factorised bigram model).
//   E: (V, C) "transformer.wte.weight" (no weight decay), U: (C, V) "head.weight" (decayed), b: (V) "head.bias".
//   Loss = mean over counted targets of −log softmax(logits)[y];  with d = (softmax − onehot(y)) / count:
//   ∂U += E[x]ᵀ d,  ∂E[x] += d Uᵀ,  ∂b += d   (all times gradScale).
// Deterministic (sequential loops, float accumulation in fixed order). `Poison` makes chosen calls of
// ForwardBackward return NaN and write NaN gradients, to test the non-finite guard.
using SharpLM.Models.Config;
using SharpLM.Models.Modeling;
using SharpLM.Tensors;

namespace SharpLM.Training.Tests.Pretraining;

internal sealed class TinyLm : ILanguageModel
{
    private readonly Tensor _e, _u, _b, _de, _du, _db;
    private readonly Parameter[] _params;
    public int V { get; }
    public int C { get; }
    public long Calls { get; private set; }
    public Func<long, bool>? Poison { get; set; }

    public static ModelConfig ConfigFor(int vocab, int width, int context = 64) => new ModelConfig
    {
        Style = ModelStyle.Gpt2,
        NumLayers = 1,
        NumHeads = 1,
        NumKvHeads = 1,
        HiddenSize = width,
        IntermediateSize = 4 * width,
        MaxPositions = context,
        VocabSize = vocab,
        PaddedVocabSize = vocab,
    }.Validate();

    public TinyLm(int vocab, int width, ulong seed, int context = 64) : this(ConfigFor(vocab, width, context), seed) { }

    public TinyLm(ModelConfig config, ulong seed)
    {
        V = config.VocabSize; C = config.HiddenSize;
        Config = config;
        var rng = new Random((int)(seed % int.MaxValue));
        float[] Init(int n, double std) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(std * (rng.NextDouble() * 2 - 1)); return a; }
        _e = Tensor.FromArray(Init(V * C, 0.5), V, C);
        _u = Tensor.FromArray(Init(C * V, 0.5), C, V);
        _b = Tensor.FromArray(Init(V, 0.1), V);
        _de = Tensor.Zeros(DType.F32, V, C);
        _du = Tensor.Zeros(DType.F32, C, V);
        _db = Tensor.Zeros(DType.F32, V);
        _params = [new("transformer.wte.weight", _e, _de), new("head.weight", _u, _du), new("head.bias", _b, _db)];
    }

    public ModelConfig Config { get; }
    public IReadOnlyList<Parameter> Parameters => _params;

    public float ForwardBackward(ReadOnlySpan<int> tokens, int batch, int seq, float gradScale)
    {
        long call = Calls++;
        if (Poison?.Invoke(call) == true)
        {
            _du.AsSpan<float>()[0] = float.NaN;
            return float.NaN;
        }
        return Run(tokens, batch, seq, gradScale, backward: true);
    }

    public float Loss(ReadOnlySpan<int> tokens, int batch, int seq) => Run(tokens, batch, seq, 0, backward: false);

    public void Logits(ReadOnlySpan<int> inputs, int batch, int seq, Span<float> logits)
    {
        var h = new float[V];
        for (int i = 0; i < batch * seq; i++)
        {
            Row(inputs[i], h);
            h.CopyTo(logits.Slice(i * V, V));
        }
    }

    private void Row(int x, Span<float> logits)
    {
        var e = _e.AsSpan<float>().Slice(x * C, C);
        var u = _u.AsSpan<float>();
        _b.AsSpan<float>().CopyTo(logits);
        for (int c = 0; c < C; c++)
            for (int v = 0; v < V; v++) logits[v] += e[c] * u[c * V + v];
    }

    private float Run(ReadOnlySpan<int> tokens, int batch, int seq, float gradScale, bool backward)
    {
        int W = seq + 1, count = 0;
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < seq; t++)
                if (tokens[b * W + t + 1] != ILanguageModel.IgnoreIndex) count++;
        if (count == 0) return 0f;
        var logits = new float[V];
        float total = 0;
        var u = _u.AsSpan<float>();
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < seq; t++)
            {
                int x = tokens[b * W + t], y = tokens[b * W + t + 1];
                if (y == ILanguageModel.IgnoreIndex) continue;
                Row(x, logits);
                float max = float.NegativeInfinity;
                foreach (float l in logits) max = MathF.Max(max, l);
                float s = 0;
                for (int v = 0; v < V; v++) { logits[v] = MathF.Exp(logits[v] - max); s += logits[v]; }
                total += MathF.Log(s) - MathF.Log(logits[y]);
                if (!backward) continue;
                var e = _e.AsSpan<float>().Slice(x * C, C);
                var de = _de.AsSpan<float>().Slice(x * C, C);
                var du = _du.AsSpan<float>();
                var db = _db.AsSpan<float>();
                for (int v = 0; v < V; v++)
                {
                    float d = (logits[v] / s - (v == y ? 1f : 0f)) / count * gradScale;
                    db[v] += d;
                    for (int c = 0; c < C; c++)
                    {
                        du[c * V + v] += e[c] * d;
                        de[c] += d * u[c * V + v];
                    }
                }
            }
        return total / count;
    }

    /// <summary>The loss in double (the finite-difference oracle).</summary>
    public double LossF64(ReadOnlySpan<int> tokens, int batch, int seq)
    {
        int W = seq + 1, count = 0;
        double total = 0;
        var e = _e.AsSpan<float>(); var u = _u.AsSpan<float>(); var bias = _b.AsSpan<float>();
        var z = new double[V];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < seq; t++)
            {
                int x = tokens[b * W + t], y = tokens[b * W + t + 1];
                if (y == ILanguageModel.IgnoreIndex) continue;
                count++;
                for (int v = 0; v < V; v++)
                {
                    double acc = bias[v];
                    for (int c = 0; c < C; c++) acc += (double)e[x * C + c] * u[c * V + v];
                    z[v] = acc;
                }
                double max = z.Max(), s = 0;
                foreach (double zz in z) s += Math.Exp(zz - max);
                total += max + Math.Log(s) - z[y];
            }
        return total / count;
    }

    public void Dispose()
    {
        foreach (var p in _params) { p.Value.Dispose(); p.Grad.Dispose(); }
    }
}
