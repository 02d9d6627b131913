// The decoder-only transformer SharpLM trains, GPT-2 style and Llama style, with a hand-written backward
// over the engine's fused kernels in the manner of llm.c (train_gpt2.c): every layer's forward saves what its
// backward needs in activation buffers preallocated for (B, T); backward walks the layers in reverse,
// accumulating (+=) into parameter gradients. No autograd tape, no allocation inside a step after the first.
//   GPT-2 (Radford et al. 2019; HF GPT2LMHeadModel): x = wte[ids] + wpe[t]; per block
//     x += c_proj(attn(c_attn(ln_1(x)))); x += mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(x)))); ln_f; tied lm_head.
//     Conv1D weights stored (in, out) as HF stores them, so y = x·W + b.
//   Llama (Touvron et al. 2023; HF LlamaForCausalLM): x = embed_tokens[ids]; per block
//     x += o_proj(attn(rope(q_proj(h)), rope(k_proj(h)), v_proj(h))), h = rms(x);
//     x += down_proj(silu(gate_proj(h))·up_proj(h)) on rms(x); norm; lm_head (tied or not). Linear weights
//     (out, in), y = x·Wᵀ. Grouped-query attention by n_kv_heads (MHA / GQA / MQA).
// Each projection is "initialise the output rows with bias (+ residual), then GEMM-accumulate", so bias and
// residual adds cost no separate pass; q, k, v come from one fused GEMM (and Llama's gate and up from another),
// read in place by the strided attention, RoPE and SwiGLU kernels. Attention is CausalAttention.cs (GEMM tiles,
// FlashAttention-2 blocking). The LM head and cross-entropy run in row chunks (never (B·T, V)).
// StepProfile.cs attributes a step's time to GEMMs, attention, norms, … when enabled.
// Parameters live in one flat f32 buffer (and one for gradients) with per-tensor views named as Hugging Face
// names them; checkpoints are model.safetensors + config.json (TransformerCheckpoint.cs).
// Options (ModelConfig): ALiBi, QK-norm, final-logit soft-cap, mixture-of-experts MLP — see the per-option
// comments; and execution modes CheckpointActivations (recompute each block in backward) and UseBf16 (bf16
// weight copies for the GEMMs; f32 master weights and accumulation).
// What it is not: a KV-cache decoder (inference builds its own from the weights by name), or dropout.
using SharpLM.Models.Config;
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Models.Modeling;

/// <summary>A GPT-2 or Llama style decoder with a hand-written backward (llm.c style).</summary>
public sealed unsafe partial class TransformerModel : ILanguageModel
{
    private readonly ModelConfig _cfg;
    private readonly Tensor _values, _grads;       // flat (P) f32 master weights and gradients
    private readonly List<Parameter> _params = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly LayerOffsets[] _layers;
    private readonly long _wte, _wpe, _lnfW, _lnfB, _lmHead; // offsets (elements) into the flat buffers; -1 = absent
    private readonly int L, C, NH, NKV, HS, KV, I, Vp, V, _experts, _topK;
    private readonly bool _gpt2;
    private float* _ropeCos, _ropeSin, _slopes;
    private Tensor? _ropeTables, _slopeTable;
    private Acts? _acts;
    private bool _disposed;

    /// <summary>A new model with GPT-2 initialisation (normal 0.02; residual projections 0.02/√(2L); norms 1, biases 0), deterministic for <paramref name="seed"/>.</summary>
    public TransformerModel(ModelConfig config, ulong seed = 1337) : this(config, seed, init: true) { }

    private TransformerModel(ModelConfig config, ulong seed, bool init)
    {
        _cfg = config.Validate();
        L = config.NumLayers; C = config.HiddenSize; NH = config.NumHeads; NKV = config.NumKvHeads; HS = config.HeadDim;
        KV = NKV * HS; I = config.IntermediateSize; Vp = config.PaddedVocabSize; V = config.VocabSize;
        _gpt2 = config.Style == ModelStyle.Gpt2;
        _experts = config.NumExperts; _topK = config.ExpertsPerToken;

        var layout = new List<(string Name, int[] Shape, InitKind Init)>();
        long total = 0;
        long Add(string name, InitKind kind, params int[] shape)
        {
            long off = total, n = 1;
            foreach (int d in shape) n *= d;
            layout.Add((name, shape, kind));
            total += n;
            return off;
        }
        _layers = new LayerOffsets[L];
        _wpe = _lnfB = _lmHead = -1;
        if (_gpt2)
        {
            _wte = Add("transformer.wte.weight", InitKind.Normal, Vp, C);
            if (!config.Alibi) _wpe = Add("transformer.wpe.weight", InitKind.Normal, config.MaxPositions, C);
            for (int l = 0; l < L; l++)
            {
                string p = $"transformer.h.{l}.";
                ref var o = ref _layers[l];
                o.Ln1W = Add(p + "ln_1.weight", InitKind.One, C);
                o.Ln1B = Add(p + "ln_1.bias", InitKind.Zero, C);
                o.QkvW = Add(p + "attn.c_attn.weight", InitKind.Normal, C, 3 * C);
                o.QkvB = Add(p + "attn.c_attn.bias", InitKind.Zero, 3 * C);
                if (config.QkNorm)
                {
                    o.QNorm = Add(p + "attn.q_norm.weight", InitKind.One, HS);
                    o.KNorm = Add(p + "attn.k_norm.weight", InitKind.One, HS);
                }
                o.OW = Add(p + "attn.c_proj.weight", InitKind.Residual, C, C);
                o.OB = Add(p + "attn.c_proj.bias", InitKind.Zero, C);
                o.Ln2W = Add(p + "ln_2.weight", InitKind.One, C);
                o.Ln2B = Add(p + "ln_2.bias", InitKind.Zero, C);
                o.FcW = Add(p + "mlp.c_fc.weight", InitKind.Normal, C, I);
                o.FcB = Add(p + "mlp.c_fc.bias", InitKind.Zero, I);
                o.DownW = Add(p + "mlp.c_proj.weight", InitKind.Residual, I, C);
                o.DownB = Add(p + "mlp.c_proj.bias", InitKind.Zero, C);
            }
            _lnfW = Add("transformer.ln_f.weight", InitKind.One, C);
            _lnfB = Add("transformer.ln_f.bias", InitKind.Zero, C);
        }
        else
        {
            _wte = Add("model.embed_tokens.weight", InitKind.Normal, Vp, C);
            for (int l = 0; l < L; l++)
            {
                string p = $"model.layers.{l}.";
                ref var o = ref _layers[l];
                o.Ln1W = Add(p + "input_layernorm.weight", InitKind.One, C);
                o.QW = Add(p + "self_attn.q_proj.weight", InitKind.Normal, C, C);
                o.KW = Add(p + "self_attn.k_proj.weight", InitKind.Normal, KV, C);
                o.VW = Add(p + "self_attn.v_proj.weight", InitKind.Normal, KV, C);
                if (config.QkNorm)
                {
                    o.QNorm = Add(p + "self_attn.q_norm.weight", InitKind.One, HS);
                    o.KNorm = Add(p + "self_attn.k_norm.weight", InitKind.One, HS);
                }
                o.OW = Add(p + "self_attn.o_proj.weight", InitKind.Residual, C, C);
                o.Ln2W = Add(p + "post_attention_layernorm.weight", InitKind.One, C);
                if (config.NumExperts > 0)
                {
                    // Mixtral names: router gate (E, C); expert e: w1 gate (I, C), w2 down (C, I), w3 up (I, C)
                    o.RouterW = Add(p + "block_sparse_moe.gate.weight", InitKind.Normal, config.NumExperts, C);
                    for (int e = 0; e < config.NumExperts; e++)
                    {
                        string q = $"{p}block_sparse_moe.experts.{e}.";
                        long w1 = Add(q + "w1.weight", InitKind.Normal, I, C);
                        Add(q + "w2.weight", InitKind.Residual, C, I);
                        Add(q + "w3.weight", InitKind.Normal, I, C);
                        if (e == 0) o.Experts = w1;
                    }
                }
                else
                {
                    o.FcW = Add(p + "mlp.gate_proj.weight", InitKind.Normal, I, C);  // gate and up are consecutive:
                    o.UpW = Add(p + "mlp.up_proj.weight", InitKind.Normal, I, C);    // one (2I, C) GEMM computes both
                    o.DownW = Add(p + "mlp.down_proj.weight", InitKind.Residual, C, I);
                }
            }
            _lnfW = Add("model.norm.weight", InitKind.One, C);
        }
        if (!config.TieWordEmbeddings) _lmHead = Add("lm_head.weight", InitKind.Normal, Vp, C);
        if (total > int.MaxValue) throw new NotSupportedException($"model has {total} parameters; at most {int.MaxValue} are supported");

        _values = Tensor.Zeros(DType.F32, (int)total);
        _grads = Tensor.Zeros(DType.F32, (int)total);
        long off2 = 0;
        float std = 0.02f, resStd = 0.02f / MathF.Sqrt(2f * L);
        for (int i = 0; i < layout.Count; i++)
        {
            var (name, shape, kind) = layout[i];
            int n = 1; foreach (int d in shape) n *= d;
            var val = _values.Narrow(0, (int)off2, n).Reshape(shape);
            var grad = _grads.Narrow(0, (int)off2, n).Reshape(shape);
            _index[name] = _params.Count;
            _params.Add(new Parameter(name, val, grad));
            if (init)
            {
                switch (kind)
                {
                    case InitKind.One: val.AsSpan<float>().Fill(1f); break;
                    case InitKind.Normal: InitNormal(val.Data, n, std, seed, (ulong)i); break;
                    case InitKind.Residual: InitNormal(val.Data, n, resStd, seed, (ulong)i); break;
                }
            }
            off2 += n;
        }

        if (config.Alibi)
        {
            _slopeTable = Tensor.FromArray(CausalAttention.AlibiSlopes(NH), NH);
            _slopes = _slopeTable.Data;
        }
        else if (!_gpt2)
        {
            int h = HS / 2;
            _ropeTables = Tensor.Zeros(DType.F32, 2, config.MaxPositions * h);
            var all = _ropeTables.AsSpan<float>();
            Rope.BuildTables(all[..(config.MaxPositions * h)], all[(config.MaxPositions * h)..], config.MaxPositions, HS, config.RopeTheta);
            _ropeCos = _ropeTables.Data; _ropeSin = _ropeCos + config.MaxPositions * h;
        }
    }

    /// <inheritdoc />
    public ModelConfig Config => _cfg;

    /// <inheritdoc />
    public IReadOnlyList<Parameter> Parameters => _params;

    /// <summary>The parameter named <paramref name="name"/> (Hugging Face name); throws naming it if absent.</summary>
    public Parameter this[string name] =>
        _index.TryGetValue(name, out int i) ? _params[i] : throw new KeyNotFoundException($"model has no parameter '{name}'");

    /// <summary>True if a parameter named <paramref name="name"/> exists.</summary>
    public bool HasParameter(string name) => _index.ContainsKey(name);

    /// <summary>All master weights as one flat f32 tensor (parameters in <see cref="Parameters"/> order, views into it).</summary>
    public Tensor FlatValues => _values;

    /// <summary>All gradients as one flat f32 tensor, laid out like <see cref="FlatValues"/>.</summary>
    public Tensor FlatGrads => _grads;

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGrad()
    {
        ModelKernels.Zero(_grads.Data, _grads.Length);
        _gradsDiscarded = false;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The projection and head weight gradients (all but ≈0.1% of a GPT-2's) are each produced by one GEMM per
    /// step, which then writes instead of accumulating; the rest (norms, biases, positions, an untied embedding,
    /// the padded vocabulary rows, mixture-of-experts weights) is zeroed at the start of that backward. For
    /// GPT-2 124M this removes a 0.5 GB write (the optimizer's clear) and a 0.5 GB read (the GEMMs' +=) per step,
    /// with the same bits: a GEMM accumulating onto zeros runs the same FMA chain as one that writes.
    /// </remarks>
    public bool DiscardGradients()
    {
        _gradsDiscarded = true;
        return true;
    }
    private bool _gradsDiscarded;
    private (long Off, long N)[]? _writtenWhole;

    // On the first backward after DiscardGradients: zero what the weight-gradient GEMMs will not overwrite
    // (everything outside the ranges WrittenWhole lists) and say whether those GEMMs may write (=) instead of adding.
    private bool BeginBackward()
    {
        if (!_gradsDiscarded) return false;
        _gradsDiscarded = false;
        if (_experts > 0) { ZeroGrad(); return false; } // expert weights see only their tokens' rows: keep +=
        long at = 0;
        _writtenWhole ??= WrittenWhole();
        foreach (var (off, n) in _writtenWhole)
        {
            if (off > at) ModelKernels.Zero(_grads.Data + at, off - at);
            at = Math.Max(at, off + n);
        }
        if (_grads.Length > at) ModelKernels.Zero(_grads.Data + at, _grads.Length - at);
        return true;
    }

    // Gradient ranges written whole by one GEMM in a dense backward, ascending: each layer's q/k/v (fused
    // c_attn, or q, k, v projections), output, MLP in (gate|up) and out projections, then the head's V rows.
    private (long Off, long N)[] WrittenWhole()
    {
        var r = new List<(long, long)>(4 * L + 1);
        for (int l = 0; l < L; l++)
        {
            ref var o = ref _layers[l];
            if (_gpt2) r.Add((o.QkvW, (long)C * 3 * C));
            else r.Add((o.QW, (long)(C + 2 * KV) * C)); // q, k, v_proj are consecutive
            r.Add((o.OW, (long)C * C));
            r.Add((o.FcW, _gpt2 ? (long)C * I : 2L * I * C)); // Llama: gate then up, consecutive
            r.Add((o.DownW, (long)I * C));
        }
        r.Add((HeadOffset, (long)V * C));
        r.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return [.. r];
    }

    /// <summary>Bytes held by the activation buffers for the largest (batch, seq) seen so far.</summary>
    public long ActivationBytes => _acts?.Bytes ?? 0;

    private enum InitKind { Zero, One, Normal, Residual }

    private struct LayerOffsets
    {
        public long Ln1W, Ln1B, QkvW, QkvB, QW, KW, VW, QNorm, KNorm, OW, OB, Ln2W, Ln2B, FcW, FcB, UpW, DownW, DownB, RouterW, Experts;
    }

    // Counter-based normals (Box–Muller over two hashed uniforms per element): each element depends only on
    // (seed, tensor index, element index), so initialisation is deterministic and could run in any order.
    private static void InitNormal(float* dst, int n, float std, ulong seed, ulong tensor)
    {
        ulong s = seed * 0x9E3779B97F4A7C15ul ^ (tensor + 1) * 0xC2B2AE3D27D4EB4Ful;
        for (int i = 0; i < n; i++)
        {
            double u1 = (Optim.Hash(s, 2ul * (ulong)i) + 1.0) / 4294967297.0;
            double u2 = Optim.Hash(s, 2ul * (ulong)i + 1) / 4294967296.0;
            dst[i] = (float)(std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }
    }

    private float* W(long off) => _values.Data + off;
    private float* G(long off) => _grads.Data + off;

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _acts?.Dispose();
        _bf16?.Dispose();
        _values.Dispose();
        _grads.Dispose();
        _ropeTables?.Dispose();
        _slopeTable?.Dispose();
        _ropeCos = _ropeSin = _slopes = null;
    }
}
