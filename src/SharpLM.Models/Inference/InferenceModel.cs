// The decoder used for generation, built straight from a checkpoint by Hugging Face names (independent of
// the training model): GPT-2 style (learned positions, LayerNorm, GELU-tanh MLP, biases; HF Conv1D weights
// stored (in, out) and transposed here) and Llama style (RMSNorm, rotate-half RoPE, SwiGLU, grouped-query
// attention, no biases). Weights are held for decoding (Linear: f32/bf16 panels or int8), q/k/v and
// gate/up fused into one matrix each so a layer costs four matrix products.
//
// Forward works on "rows": each row is one token of one sequence at an absolute position. A prompt is
// many rows of one sequence (prefill, in one batched pass); a decode step is one row per sequence.
// Every row's arithmetic is independent of the other rows in the call (row-wise kernels, FMA-chain GEMM,
// per-row cached attention), so incremental decoding reproduces a full recompute bit for bit.
//   x (R, C) → per layer: h = norm₁(x); qkv = h·W_qkvᵀ; rope(q, k); cache ← k, v; a = attn(q, cache);
//   x += a·W_oᵀ; h = norm₂(x); x += mlp(h) → logits of the selected rows = norm_f(x)·W_lmᵀ.
// Options of ModelConfig, as the training model defines them: ALiBi (per-head slopes added to the scores, no
// learned positions / no RoPE), QK-norm (RMSNorm of each q and k head before RoPE), final-logit soft-cap
// (c·tanh(z/c)), and a Mixtral mixture-of-experts MLP (router softmax over E experts, top-k by probability,
// lower index on ties, weights renormalised; each token runs only its k experts — decoding reads k experts, and a
// prompt's tokens are grouped by expert so each expert's weights are read once per pass).
// Not here: training.
using System.Numerics.Tensors;
using SharpLM.Models.Config;
using SharpLM.Models.IO;
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Models.Inference;

/// <summary>A transformer decoder loaded for generation.</summary>
public sealed unsafe class InferenceModel : IDisposable
{
    private sealed class Layer
    {
        public float[] Norm1W = [], Norm1B = [], Norm2W = [], Norm2B = [];
        public Linear Qkv = null!, O = null!, Up = null!, Down = null!;
        public float[] QNorm = [], KNorm = [];
        public Linear? Router;
        public Linear[] ExpertUp = [], ExpertDown = [];
    }

    private readonly Layer[] _layers;
    private readonly float[] _wte, _wpe, _normW, _normB;
    private readonly Linear _lmHead;
    private readonly float[] _cos = [], _sin = [];
    private readonly int _ropeLen;
    private readonly float[]? _slopes;
    private NativeBuffer? _work;
    private long _workRows;

    /// <summary>The architecture.</summary>
    public ModelConfig Config { get; }
    /// <summary>Weight format of the matrices.</summary>
    public WeightFormat Format { get; }

    /// <summary>Bytes of weights one decode step reads (all matrices, the LM head, norms; one embedding row).</summary>
    public long WeightBytesPerToken
    {
        get
        {
            long b = _lmHead.WeightBytes + 4L * (_normW.Length + _normB.Length) + 4L * Config.HiddenSize * (_wpe.Length > 0 ? 2 : 1);
            foreach (var l in _layers)
            {
                b += l.Qkv.WeightBytes + l.O.WeightBytes + 4L * (l.Norm1W.Length + l.Norm1B.Length + l.Norm2W.Length + l.Norm2B.Length);
                if (l.Router != null) b += l.Router.WeightBytes + Config.ExpertsPerToken * (l.ExpertUp[0].WeightBytes + l.ExpertDown[0].WeightBytes);
                else b += l.Up.WeightBytes + l.Down.WeightBytes;
            }
            return b;
        }
    }

    /// <summary>Opens <c>config.json</c> and <c>model.safetensors</c> in <paramref name="dir"/>.</summary>
    public static InferenceModel Load(string dir, WeightFormat format, int int8Block = 32)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: model directory not found");
        var config = ModelConfigJson.Read(Path.Combine(dir, "config.json"));
        string st = Path.Combine(dir, "model.safetensors");
        using var file = SafetensorsFile.Open(st);
        return new InferenceModel(config, new SafetensorsSource(file), format, int8Block);
    }

    /// <summary>Builds from any weight source (a checkpoint, or random weights for benchmarks).</summary>
    public InferenceModel(ModelConfig config, WeightSource src, WeightFormat format, int int8Block = 32)
    {
        Config = config.Validate();
        Format = format;
        int C = config.HiddenSize, V = config.PaddedVocabSize, I = config.IntermediateSize, HS = config.HeadDim;
        int qDim = config.NumHeads * HS, kvDim = config.NumKvHeads * HS;
        _layers = new Layer[config.NumLayers];
        if (config.Style == ModelStyle.Gpt2)
        {
            string p = src.Contains("transformer.wte.weight") ? "transformer." : "";
            _wte = src.F32(p + "wte.weight", (long)V * C);
            _wpe = config.Alibi ? [] : src.F32(p + "wpe.weight", (long)config.MaxPositions * C);
            for (int l = 0; l < _layers.Length; l++)
            {
                string h = $"{p}h.{l}.";
                _layers[l] = new Layer
                {
                    Norm1W = src.F32(h + "ln_1.weight", C),
                    Norm1B = src.F32(h + "ln_1.bias", C),
                    Norm2W = src.F32(h + "ln_2.weight", C),
                    Norm2B = src.F32(h + "ln_2.bias", C),
                    Qkv = Conv1D(src, h + "attn.c_attn", C, 3 * C, format, int8Block),
                    O = Conv1D(src, h + "attn.c_proj", C, C, format, int8Block),
                    Up = Conv1D(src, h + "mlp.c_fc", C, I, format, int8Block),
                    Down = Conv1D(src, h + "mlp.c_proj", I, C, format, int8Block),
                };
                if (config.QkNorm) { _layers[l].QNorm = src.F32(h + "attn.q_norm.weight", HS); _layers[l].KNorm = src.F32(h + "attn.k_norm.weight", HS); }
            }
            _normW = src.F32(p + "ln_f.weight", C);
            _normB = src.F32(p + "ln_f.bias", C);
        }
        else
        {
            _wte = src.F32("model.embed_tokens.weight", (long)V * C);
            _wpe = [];
            for (int l = 0; l < _layers.Length; l++)
            {
                string h = $"model.layers.{l}.";
                _layers[l] = new Layer
                {
                    Norm1W = src.F32(h + "input_layernorm.weight", C),
                    Norm2W = src.F32(h + "post_attention_layernorm.weight", C),
                    Qkv = Stack(src, [(h + "self_attn.q_proj.weight", qDim), (h + "self_attn.k_proj.weight", kvDim), (h + "self_attn.v_proj.weight", kvDim)], C, format, int8Block),
                    O = Stack(src, [(h + "self_attn.o_proj.weight", C)], qDim, format, int8Block),
                };
                var L = _layers[l];
                if (config.QkNorm) { L.QNorm = src.F32(h + "self_attn.q_norm.weight", HS); L.KNorm = src.F32(h + "self_attn.k_norm.weight", HS); }
                if (config.NumExperts > 0)
                {
                    string e = h + "block_sparse_moe.";
                    L.Router = Stack(src, [(e + "gate.weight", config.NumExperts)], C, WeightFormat.F32, int8Block); // routing stays exact
                    L.ExpertUp = new Linear[config.NumExperts]; L.ExpertDown = new Linear[config.NumExperts];
                    for (int x = 0; x < config.NumExperts; x++)
                    {
                        L.ExpertUp[x] = Stack(src, [($"{e}experts.{x}.w1.weight", I), ($"{e}experts.{x}.w3.weight", I)], C, format, int8Block);
                        L.ExpertDown[x] = Stack(src, [($"{e}experts.{x}.w2.weight", C)], I, format, int8Block);
                    }
                    L.Up = L.ExpertUp[0]; L.Down = L.ExpertDown[0];
                }
                else
                {
                    L.Up = Stack(src, [(h + "mlp.gate_proj.weight", I), (h + "mlp.up_proj.weight", I)], C, format, int8Block);
                    L.Down = Stack(src, [(h + "mlp.down_proj.weight", C)], I, format, int8Block);
                }
            }
            _normW = src.F32("model.norm.weight", C);
            _normB = [];
            if (!config.Alibi)
            {
                _ropeLen = config.MaxPositions;
                _cos = new float[(long)_ropeLen * HS / 2];
                _sin = new float[(long)_ropeLen * HS / 2];
                Rope.BuildTables(_cos, _sin, _ropeLen, HS, config.RopeTheta);
            }
        }
        if (config.Alibi) _slopes = SharpLM.Models.Modeling.CausalAttention.AlibiSlopes(config.NumHeads);
        if (!config.TieWordEmbeddings && src.Contains("lm_head.weight"))
            _lmHead = Stack(src, [("lm_head.weight", V)], C, format, int8Block);
        else if (config.TieWordEmbeddings || src is RandomSource)
            _lmHead = Linear.Create(_wte, V, C, default, format, int8Block);
        else
            throw new InvalidDataException($"{src.Describe}: tensor 'lm_head.weight' missing and config.json says tie_word_embeddings is false");
    }

    /// <summary>A GPT-2 Conv1D (weight stored (in, out), bias (out)) as a Linear (out, in).</summary>
    private static Linear Conv1D(WeightSource src, string name, int inF, int outF, WeightFormat f, int block)
    {
        var bias = src.F32(name + ".bias", outF);
        if (src.TryInt8(name + ".weight", out var q, out var s)) // quantized checkpoints store (out, in)
            return f == WeightFormat.Int8 ? Linear.FromInt8(q, s, outF, inF, inF / (s.Length / outF), bias)
                                          : Linear.Create(src.F32(name + ".weight", (long)outF * inF), outF, inF, bias, f, block);
        var w = src.F32(name + ".weight", (long)inF * outF);
        var t = new float[w.Length];
        for (int i = 0; i < inF; i++)
            for (int o = 0; o < outF; o++) t[(long)o * inF + i] = w[(long)i * outF + o];
        return Linear.Create(t, outF, inF, bias, f, block);
    }

    /// <summary>nn.Linear weights (out, in) stacked along out into one matrix.</summary>
    private static Linear Stack(WeightSource src, (string Name, int Out)[] parts, int K, WeightFormat f, int block)
    {
        int N = 0;
        foreach (var p in parts) N += p.Out;
        if (f == WeightFormat.Int8 && src.TryInt8(parts[0].Name, out _, out var s0))
        {
            int B = K / (s0.Length / parts[0].Out);
            var q = new sbyte[(long)N * K]; var s = new float[(long)N * (K / B)];
            long qo = 0, so = 0;
            foreach (var p in parts)
            {
                if (!src.TryInt8(p.Name, out var pq, out var ps) || pq.Length != (long)p.Out * K || ps.Length != (long)p.Out * (K / B))
                    throw new InvalidDataException($"{src.Describe}: tensor '{p.Name}' must be int8 ({p.Out}, {K}) with {K / B} scales per row like '{parts[0].Name}'");
                pq.CopyTo(q, qo); ps.CopyTo(s, so); qo += pq.Length; so += ps.Length;
            }
            return Linear.FromInt8(q, s, N, K, B, default);
        }
        var w = new float[(long)N * K];
        long off = 0;
        foreach (var p in parts)
        {
            var a = src.F32(p.Name, (long)p.Out * K);
            a.CopyTo(w, off);
            off += a.Length;
        }
        return Linear.Create(w, N, K, default, f, block);
    }

    /// <summary>A cache sized for this model.</summary>
    public KvCache CreateCache(int sequences, int maxLength)
    {
        if (maxLength > Config.MaxPositions) throw new ArgumentException($"cache length {maxLength} exceeds the model's {Config.MaxPositions} positions");
        return new KvCache(Config.NumLayers, sequences, Config.NumKvHeads, Config.HeadDim, maxLength);
    }

    /// <summary>
    /// Runs <paramref name="tokens"/>.Length rows: row r is token tokens[r] of sequence seq[r] at position pos[r]
    /// (each sequence's positions must continue its cache: rows of one sequence in increasing order, the first
    /// at the cache length or earlier, overwriting). Writes the logits (PaddedVocabSize each) of rows
    /// <paramref name="logitRows"/> into <paramref name="logits"/>, and sets each sequence's cache length to its
    /// last position + 1.
    /// </summary>
    public void Forward(KvCache cache, ReadOnlySpan<int> tokens, ReadOnlySpan<int> seq, ReadOnlySpan<int> pos, ReadOnlySpan<int> logitRows, Span<float> logits)
    {
        int R = tokens.Length;
        var cfg = Config;
        int C = cfg.HiddenSize, V = cfg.PaddedVocabSize, I = cfg.IntermediateSize, HS = cfg.HeadDim, NH = cfg.NumHeads, NKV = cfg.NumKvHeads;
        int qkvDim = (NH + 2 * NKV) * HS;
        if (seq.Length != R || pos.Length != R) throw new ArgumentException($"forward: {R} tokens but {seq.Length} sequence ids and {pos.Length} positions");
        if (logits.Length < (long)logitRows.Length * V) throw new ArgumentException($"forward: logits hold {logits.Length} values, need {logitRows.Length}×{V}");
        if (cache.Layers != cfg.NumLayers || cache.KvHeads != NKV || cache.HeadDim != HS) throw new ArgumentException("forward: cache was made for another model");
        for (int r = 0; r < R; r++)
        {
            if ((uint)tokens[r] >= (uint)V) throw new ArgumentOutOfRangeException(nameof(tokens), $"token {tokens[r]} at row {r} is outside the vocabulary (0..{V - 1})");
            if ((uint)seq[r] >= (uint)cache.Sequences) throw new ArgumentOutOfRangeException(nameof(seq), $"sequence {seq[r]} at row {r} outside 0..{cache.Sequences - 1}");
            if ((uint)pos[r] >= (uint)cache.MaxLength || pos[r] > cache.Length(seq[r]) + r) throw new ArgumentOutOfRangeException(nameof(pos), $"position {pos[r]} at row {r} outside the cache (max length {cache.MaxLength})");
        }
        if (R == 0) return;

        // Workspace: x, h (R×C); qkv (R×qkvDim); att (R×NH·HS); up (R×max(I·2, qkvDim)); act (R×I); MoE buffers; int8 scratch.
        int kMax = Math.Max(C, Math.Max(I, NH * HS));
        long upW = cfg.Style == ModelStyle.Llama ? 2L * I : I;
        long perRow = 2L * C + qkvDim + (long)NH * HS + upW + I + MoeFloatsPerRow + 4 + kMax / 4 + 2 * (kMax / 32) + 16;
        float* ws = Workspace(R, perRow);
        float* x = ws, h = x + (long)R * C, qkv = h + (long)R * C, att = qkv + (long)R * qkvDim, up = att + (long)R * NH * HS, act = up + R * upW;
        float* moe = act + (long)R * I;
        float* stats = moe + (long)R * MoeFloatsPerRow; // mean, rstd (R each)
        float* xs = stats + 2L * R;
        sbyte* xq = (sbyte*)(xs + 2L * R * (kMax / 32 + 1)); // xs: scales, then block sums

        float* headRstd = stackalloc float[NH + NKV];
        fixed (int* sq = seq) fixed (int* ps = pos)
        {
            for (int r = 0; r < R; r++)
            {
                new ReadOnlySpan<float>(_wte, tokens[r] * C, C).CopyTo(new Span<float>(x + (long)r * C, C));
                if (_wpe.Length > 0)
                    TensorPrimitives.Add(new ReadOnlySpan<float>(x + (long)r * C, C), new ReadOnlySpan<float>(_wpe, pos[r] * C, C), new Span<float>(x + (long)r * C, C));
            }
            for (int l = 0; l < _layers.Length; l++)
            {
                var L = _layers[l];
                Norm(h, x, stats, L.Norm1W, L.Norm1B, R, C);
                L.Qkv.Forward(h, R, qkv, xq, xs);
                float* kc = cache.Keys(l), vc = cache.Values(l);
                for (int r = 0; r < R; r++)
                {
                    float* row = qkv + (long)r * qkvDim;
                    if (cfg.QkNorm)
                        fixed (float* qn = L.QNorm) fixed (float* kn = L.KNorm)
                        {
                            Norms.RmsNormForward(row, headRstd, row, qn, NH, HS, (float)cfg.NormEps);            // in place, per head
                            Norms.RmsNormForward(row + NH * HS, headRstd, row + NH * HS, kn, NKV, HS, (float)cfg.NormEps);
                        }
                    if (_cos.Length > 0) RopeRow(row, NH + NKV, HS, pos[r]); // q and k heads are adjacent in the fused row
                    new ReadOnlySpan<float>(row, NH * HS).CopyTo(new Span<float>(att + (long)r * NH * HS, NH * HS)); // q, moved aside
                    for (int kv = 0; kv < NKV; kv++)
                    {
                        long head = ((long)seq[r] * NKV + kv) * cache.MaxLength * HS;
                        float* kr = row + (NH + kv) * HS;
                        for (int d = 0; d < HS; d++) kc[head + (long)d * cache.MaxLength + pos[r]] = kr[d]; // keys transposed: (HS, Tmax)
                        new ReadOnlySpan<float>(row + (NH + NKV + kv) * HS, HS).CopyTo(new Span<float>(vc + head + (long)pos[r] * HS, HS));
                    }
                }
                // q is in att; attention output goes to qkv's space (R×NH·HS fits in R×qkvDim).
                fixed (float* sl = _slopes) CachedAttention.Forward(qkv, att, R, sq, ps, kc, vc, NH, NKV, HS, cache.MaxLength, sl);
                L.O.Forward(qkv, R, h, xq, xs);
                TensorPrimitives.Add(new ReadOnlySpan<float>(x, R * C), new ReadOnlySpan<float>(h, R * C), new Span<float>(x, R * C));
                Norm(h, x, stats, L.Norm2W, L.Norm2B, R, C);
                if (L.Router != null)
                {
                    MoeRows(L, h, x, up, act, moe, R, xq, xs);
                    continue;
                }
                L.Up.Forward(h, R, up, xq, xs);
                if (cfg.Style == ModelStyle.Gpt2)
                {
                    Activations.GeluForward(act, up, (long)R * I);
                }
                else
                {
                    for (int r = 0; r < R; r++) Activations.SwiGluForward(act + (long)r * I, up + 2L * r * I, up + 2L * r * I + I, I);
                }
                L.Down.Forward(act, R, h, xq, xs);
                TensorPrimitives.Add(new ReadOnlySpan<float>(x, R * C), new ReadOnlySpan<float>(h, R * C), new Span<float>(x, R * C));
            }
        }
        for (int r = 0; r < R; r++) cache.SetLength(seq[r], Math.Max(cache.Length(seq[r]), pos[r] + 1));
        int nl = logitRows.Length;
        if (nl == 0) return;
        for (int i = 0; i < nl; i++)
        {
            if ((uint)logitRows[i] >= (uint)R) throw new ArgumentOutOfRangeException(nameof(logitRows), $"logit row {logitRows[i]} outside 0..{R - 1}");
            new ReadOnlySpan<float>(x + (long)logitRows[i] * C, C).CopyTo(new Span<float>(qkv + (long)i * C, C));
        }
        Norm(h, qkv, stats, _normW, _normB, nl, C);
        fixed (float* lg = logits) _lmHead.Forward(h, nl, lg, xq, xs);
        if (cfg.LogitSoftcap > 0)
        {
            float cap = (float)cfg.LogitSoftcap;
            var z = logits[..(nl * V)];
            for (int i = 0; i < z.Length; i++) z[i] = cap * MathF.Tanh(z[i] / cap);
        }
    }

    /// <summary>
    /// x += Σ_s w_s·expert_s(h) per row: router softmax, top-k (larger first, lower index on ties), renormalised.
    /// Tokens are grouped by expert: each expert runs once over all the rows that picked it (a prompt reads each
    /// expert's weights once, not once per token); every row's outputs are kept per pick and summed in pick order,
    /// and the GEMMs give a row the same bits whatever rows share the call, so a row's result does not depend on
    /// the other rows (cached decode == recompute).
    /// </summary>
    private void MoeRows(Layer L, float* h, float* x, float* up, float* act, float* moe, int R, sbyte* xq, float* xs)
    {
        int C = Config.HiddenSize, I = Config.IntermediateSize, E = Config.NumExperts, K = Config.ExpertsPerToken;
        // moe workspace (MoeFloatsPerRow per row): gathered rows (R×C), per-pick outputs (R×K×C), router
        // probabilities (R×E), picks (R×K ints), weights (R×K), gathered (row, pick) slots (R×K ints).
        float* xe = moe, yAll = xe + (long)R * C, prob = yAll + (long)R * K * C, wts = prob + (long)R * E;
        int* pick = (int*)(wts + (long)R * K), slot = pick + (long)R * K;
        L.Router!.Forward(h, R, prob, xq, xs);
        for (int r = 0; r < R; r++)
        {
            float* lg = prob + (long)r * E;
            float mx = float.NegativeInfinity, sum = 0;
            for (int e = 0; e < E; e++) mx = MathF.Max(mx, lg[e]);
            for (int e = 0; e < E; e++) { lg[e] = MathF.Exp(lg[e] - mx); sum += lg[e]; }
            for (int e = 0; e < E; e++) lg[e] /= sum;
            float z = 0;
            int* pr = pick + (long)r * K; float* wr = wts + (long)r * K;
            for (int s = 0; s < K; s++)
            {
                int best = -1;
                for (int e = 0; e < E; e++)
                {
                    bool taken = false;
                    for (int u = 0; u < s; u++) taken |= pr[u] == e;
                    if (!taken && (best < 0 || lg[e] > lg[best])) best = e;
                }
                pr[s] = best; wr[s] = lg[best]; z += wr[s];
            }
            for (int s = 0; s < K; s++) wr[s] /= z;
        }
        for (int e = 0; e < E; e++)
        {
            int n = 0;
            for (int i = 0; i < R * K; i++)
                if (pick[i] == e)
                {
                    new ReadOnlySpan<float>(h + (long)(i / K) * C, C).CopyTo(new Span<float>(xe + (long)n * C, C));
                    slot[n++] = i;
                }
            if (n == 0) continue;
            L.ExpertUp[e].Forward(xe, n, up, xq, xs);                                        // (n, 2I)
            for (int j = 0; j < n; j++) Activations.SwiGluForward(act + (long)j * I, up + 2L * j * I, up + 2L * j * I + I, I);
            L.ExpertDown[e].Forward(act, n, xe, xq, xs);                                     // (n, C) into the consumed gathered rows
            for (int j = 0; j < n; j++) new ReadOnlySpan<float>(xe + (long)j * C, C).CopyTo(new Span<float>(yAll + (long)slot[j] * C, C));
        }
        for (int r = 0; r < R; r++)
        {
            float* xr = x + (long)r * C;
            for (int s = 0; s < K; s++)
            {
                float ws = wts[(long)r * K + s];
                float* y = yAll + ((long)r * K + s) * C;
                for (int c = 0; c < C; c++) xr[c] += ws * y[c];
            }
        }
    }

    private int MoeFloatsPerRow => Config.NumExperts > 0 ? (Config.ExpertsPerToken + 1) * Config.HiddenSize + Config.NumExperts + 3 * Config.ExpertsPerToken : 0;

    /// <summary>Logits of every position of <paramref name="tokens"/> recomputed from an empty cache (the no-cache path).</summary>
    public float[] FullLogits(ReadOnlySpan<int> tokens)
    {
        int T = tokens.Length;
        using var cache = CreateCache(1, Math.Max(1, T));
        var seq = new int[T]; var pos = new int[T]; var rows = new int[T];
        for (int t = 0; t < T; t++) { pos[t] = t; rows[t] = t; }
        var logits = new float[(long)T * Config.PaddedVocabSize];
        Forward(cache, tokens, seq, pos, rows, logits);
        return logits;
    }

    /// <summary>
    /// Mean next-token cross-entropy (nats) over <paramref name="tokens"/>: position t predicts t+1, softmax over
    /// the tokenizer's <see cref="ModelConfig.VocabSize"/> ids (padding rows excluded), accumulated in double.
    /// </summary>
    public double MeanLoss(ReadOnlySpan<int> tokens)
    {
        if (tokens.Length < 2) throw new ArgumentException("loss needs at least 2 tokens");
        var logits = FullLogits(tokens[..^1]);
        int V = Config.VocabSize, Vp = Config.PaddedVocabSize;
        double total = 0;
        for (int t = 0; t + 1 < tokens.Length; t++)
        {
            var row = new ReadOnlySpan<float>(logits, t * Vp, V);
            float mx = TensorPrimitives.Max(row);
            double sum = 0;
            foreach (float z in row) sum += Math.Exp(z - mx);
            total += mx + Math.Log(sum) - row[tokens[t + 1]];
        }
        return total / (tokens.Length - 1);
    }

    private void Norm(float* output, float* inp, float* stats, float[] w, float[] b, int R, int C)
    {
        fixed (float* pw = w) fixed (float* pb = b)
        {
            if (Config.Style == ModelStyle.Gpt2) Norms.LayerNormForward(output, stats, stats + R, inp, pw, pb, R, C, (float)Config.NormEps);
            else Norms.RmsNormForward(output, stats, inp, pw, R, C, (float)Config.NormEps);
        }
    }

    /// <summary>Rotate-half RoPE (Hugging Face Llama) of <paramref name="heads"/> heads of one row at position <paramref name="p"/>.</summary>
    private void RopeRow(float* row, int heads, int HS, int p)
    {
        int half = HS / 2;
        fixed (float* cp = _cos) fixed (float* sp = _sin)
        {
            float* c = cp + (long)p * half, s = sp + (long)p * half;
            for (int hd = 0; hd < heads; hd++)
            {
                float* v = row + hd * HS;
                for (int j = 0; j < half; j++)
                {
                    float x1 = v[j], x2 = v[half + j];
                    v[j] = x1 * c[j] - x2 * s[j];
                    v[half + j] = x2 * c[j] + x1 * s[j];
                }
            }
        }
    }

    private float* Workspace(int rows, long perRow)
    {
        if (_work == null || _workRows < rows || _work.Bytes < 4L * rows * perRow)
        {
            _work?.Dispose();
            _work = new NativeBuffer(4L * rows * perRow + 256);
            _workRows = rows;
        }
        return (float*)_work.Pointer;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var l in _layers)
        {
            l.Qkv.Dispose(); l.O.Dispose(); l.Up.Dispose(); l.Down.Dispose();
            l.Router?.Dispose();
            foreach (var e in l.ExpertUp) e.Dispose();
            foreach (var e in l.ExpertDown) e.Dispose();
        }
        _lmHead.Dispose();
        _work?.Dispose();
    }
}
