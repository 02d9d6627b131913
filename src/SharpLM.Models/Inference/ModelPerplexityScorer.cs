// Scores documents with a SharpLM checkpoint for the perplexity filter (CCNet, Wenzek et al. 2020): each
// document is tokenized (ordinary text, no special tokens), <|endoftext|> is put in front when the tokenizer has
// it (so the first token is predicted too and the scored bytes are the whole text), and every token after that
// is predicted exactly once: windows of Context+1 tokens advancing by Context, as LanguageModeling.Score and
// nanochat's evaluate_bpb cut a stream. Windows of every document of a batch are packed into forward passes
// of up to RowsPerForward rows (one row = one token of one window, each window in its own KV-cache slot; a window
// longer than a pass continues in the next one from its cache), so the GEMMs are large and run on all cores
// (WorkerPool); the loss of each row, ln Σ exp(z) − z[target] over the tokenizer's VocabSize logits, is computed
// in parallel over rows and summed per document in a fixed order, in double. InferenceModel's rows are
// independent of each other, so a document's score does not depend on the batch it came in.
// Not here: sliding (overlapping) windows, or training the reference model (`sharplm train`).
using SharpLM.Models.Config;
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Quality;
using SharpLM.Text.Tokenization;

namespace SharpLM.Models.Inference;

/// <summary>Settings of <see cref="ModelPerplexityScorer"/>.</summary>
public sealed record PerplexityScorerOptions
{
    /// <summary>Window length in tokens (0 = the model's MaxPositions).</summary>
    public int Context { get; init; }
    /// <summary>Score at most this many tokens of each document (0 = all): bounds the cost of very long documents.</summary>
    public int MaxTokens { get; init; }
    /// <summary>Token rows per forward pass (the logits of a pass take RowsPerForward × vocabulary × 4 bytes; capped at 256 MB).</summary>
    public int RowsPerForward { get; init; } = 1024;
    /// <summary>Threads for tokenizing (0 = one per core); the forward passes use the WorkerPool's threads.</summary>
    public int Threads { get; init; }
}

/// <summary>Per-document next-token loss of a SharpLM model, batched over documents.</summary>
public sealed unsafe class ModelPerplexityScorer : IPerplexityScorer, IDisposable
{
    private readonly InferenceModel _model;
    private readonly BpeTokenizer _tok;
    private readonly bool _ownsModel;
    private readonly int _ctx, _rows, _slots, _bos;
    private readonly PerplexityScorerOptions _o;
    private readonly string _describe;
    private KvCache? _cache;
    private float[] _logits = [];

    /// <summary>Scores with <paramref name="model"/> and <paramref name="tokenizer"/> (disposes the model when <paramref name="ownsModel"/>).</summary>
    public ModelPerplexityScorer(InferenceModel model, BpeTokenizer tokenizer, PerplexityScorerOptions? options = null, bool ownsModel = false, string? describe = null)
    {
        _o = options ?? new PerplexityScorerOptions();
        var cfg = model.Config;
        if (tokenizer.VocabSize > cfg.VocabSize)
            throw new ArgumentException($"perplexity: the tokenizer has {tokenizer.VocabSize} tokens but the model's vocabulary is {cfg.VocabSize}: they do not belong together");
        if (_o.Context < 0 || _o.Context > cfg.MaxPositions) throw new ArgumentException($"perplexity: context {_o.Context} must be in [1, {cfg.MaxPositions}] (0 = the model's)");
        if (_o.MaxTokens < 0) throw new ArgumentException($"perplexity: max tokens {_o.MaxTokens} must be ≥ 0");
        if (_o.RowsPerForward < 1) throw new ArgumentException($"perplexity: rows per forward {_o.RowsPerForward} must be ≥ 1");
        _model = model; _tok = tokenizer; _ownsModel = ownsModel;
        _ctx = _o.Context > 0 ? _o.Context : cfg.MaxPositions;
        long cap = Math.Max(1, (256L << 20) / (4L * cfg.PaddedVocabSize));
        _rows = (int)Math.Min(_o.RowsPerForward, cap);
        _slots = Math.Clamp(_rows / Math.Min(_ctx, 64), 1, 64) + 1; // short windows share a pass; +1 for a window carried over
        _bos = tokenizer.SpecialTokens.TryGetValue("<|endoftext|>", out int e) && e < cfg.VocabSize ? e : -1;
        _describe = describe ?? $"{cfg.Style} model ({cfg.ParameterCount() / 1e6:F1}M parameters), vocabulary {tokenizer.VocabSize}, context {_ctx}";
    }

    /// <summary>Loads a checkpoint directory (config.json + model.safetensors) and its tokenizer (see <see cref="FindTokenizer"/>).</summary>
    public static ModelPerplexityScorer Load(string modelDir, string? tokenizer = null, WeightFormat format = WeightFormat.F32, PerplexityScorerOptions? options = null)
    {
        string tp = FindTokenizer(modelDir, tokenizer)
            ?? throw new FileNotFoundException($"{modelDir}: no tokenizer.json in the model directory or in tokenizer/ of the run above it; give the tokenizer");
        var tok = TokenizerFiles.Load(tp);
        var model = InferenceModel.Load(modelDir, format);
        try { return new ModelPerplexityScorer(model, tok, options, ownsModel: true, describe: $"{modelDir} with {tp}"); }
        catch { model.Dispose(); throw; }
    }

    /// <summary>The tokenizer: <paramref name="given"/> (file or folder), else DIR/tokenizer.json, else tokenizer/tokenizer.json in up to three parent folders (runs/NAME/base → runs/NAME/tokenizer).</summary>
    public static string? FindTokenizer(string modelDir, string? given)
    {
        if (given != null)
        {
            string f = Directory.Exists(given) ? Path.Combine(given, "tokenizer.json") : given;
            return File.Exists(f) ? f : throw new FileNotFoundException($"{f}: tokenizer not found", f);
        }
        if (File.Exists(Path.Combine(modelDir, "tokenizer.json"))) return Path.Combine(modelDir, "tokenizer.json");
        var d = new DirectoryInfo(Path.GetFullPath(modelDir)).Parent;
        for (int i = 0; i < 3 && d != null; i++, d = d.Parent)
        {
            string f = Path.Combine(d.FullName, "tokenizer", "tokenizer.json");
            if (File.Exists(f)) return f;
        }
        return null;
    }

    /// <inheritdoc/>
    public string Describe => _describe;

    /// <summary>Window length in tokens.</summary>
    public int Context => _ctx;

    /// <summary>The token sequence a text is scored as: [&lt;|endoftext|&gt;] + its ordinary tokens (capped at MaxTokens scored).</summary>
    public int[] Tokens(string text) => Sequence(_tok.EncodeOrdinary(text));

    private int[] Sequence(int[] ids)
    {
        int keep = _o.MaxTokens > 0 ? Math.Min(ids.Length, _bos >= 0 ? _o.MaxTokens : _o.MaxTokens + 1) : ids.Length;
        if (_bos < 0) return keep == ids.Length ? ids : ids[..keep];
        var s = new int[keep + 1];
        s[0] = _bos;
        Array.Copy(ids, 0, s, 1, keep);
        return s;
    }

    /// <inheritdoc/>
    public void Score(IReadOnlyList<string> texts, Span<PerplexityScore> scores)
    {
        if (scores.Length < texts.Count) throw new ArgumentException($"perplexity: {texts.Count} texts but room for {scores.Length} scores");
        var encoded = _tok.EncodeBatch(texts, threads: _o.Threads, ordinary: true);
        var seqs = new int[texts.Count][];
        for (int i = 0; i < seqs.Length; i++) seqs[i] = Sequence(encoded[i]);
        ScoreTokens(seqs, scores);
    }

    /// <summary>Scores token sequences: every token after the first is predicted once (bytes from the tokenizer's token lengths).</summary>
    public void ScoreTokens(IReadOnlyList<int[]> seqs, Span<PerplexityScore> scores)
    {
        var cfg = _model.Config;
        int V = cfg.VocabSize, Vp = cfg.PaddedVocabSize;
        var bytesPerToken = _tok.BytesPerToken;
        // Windows (document, start, length): inputs seq[start .. start+len), targets seq[start+1 .. start+len].
        var winDoc = new List<int>(); var winStart = new List<int>(); var winLen = new List<int>();
        for (int d = 0; d < seqs.Count; d++)
            for (int s = 0; s < seqs[d].Length - 1; s += _ctx)
            {
                winDoc.Add(d); winStart.Add(s); winLen.Add(Math.Min(_ctx, seqs[d].Length - 1 - s));
            }
        var nats = new double[seqs.Count];
        var count = new long[seqs.Count];
        var bytes = new long[seqs.Count];
        _cache ??= _model.CreateCache(_slots, _ctx);
        if (_logits.Length < (long)_rows * Vp) _logits = new float[(long)_rows * Vp];
        var tokens = new int[_rows]; var seq = new int[_rows]; var pos = new int[_rows]; var rowsIdx = new int[_rows];
        var target = new int[_rows]; var doc = new int[_rows]; var rowNats = new double[_rows];
        for (int r = 0; r < _rows; r++) rowsIdx[r] = r;
        int w = 0, done = 0, carrySlot = -1;
        while (w < winDoc.Count)
        {
            int R = 0, nextSlot = 0, reserved = carrySlot; // the slot of a window carried over from the last pass
            int slot = carrySlot;
            while (R < _rows && w < winDoc.Count)
            {
                if (done == 0)
                {
                    if (nextSlot == reserved) nextSlot++;
                    if (nextSlot >= _slots) break;
                    slot = nextSlot++;
                    _cache.SetLength(slot, 0);
                }
                int d = winDoc[w], st = winStart[w], len = winLen[w];
                int k = Math.Min(_rows - R, len - done);
                var sq = seqs[d];
                for (int j = 0; j < k; j++, R++)
                {
                    int t = done + j;
                    tokens[R] = sq[st + t]; seq[R] = slot; pos[R] = t; target[R] = sq[st + t + 1]; doc[R] = d;
                }
                done += k;
                if (done == len) { done = 0; w++; carrySlot = -1; }
                else carrySlot = slot;
            }
            _model.Forward(_cache, tokens.AsSpan(0, R), seq.AsSpan(0, R), pos.AsSpan(0, R), rowsIdx.AsSpan(0, R), _logits);
            fixed (float* lg = _logits) fixed (int* tg = target) fixed (double* rn = rowNats)
            {
                var body = new RowLoss { Logits = lg, Target = tg, Out = rn, V = V, Vp = Vp };
                WorkerPool.For(R, Math.Max(1, 16384 / Math.Max(1, V)), ref body);
            }
            for (int r = 0; r < R; r++)
            {
                int d = doc[r];
                nats[d] += rowNats[r];
                count[d]++;
                bytes[d] += (uint)target[r] < (uint)bytesPerToken.Length ? bytesPerToken[target[r]] : 0;
            }
        }
        for (int d = 0; d < seqs.Count; d++) scores[d] = new PerplexityScore(nats[d], count[d], bytes[d]);
    }

    // −log softmax(z)[target] of each row over the first V logits: ln Σ exp(z − m) + m − z[target].
    private struct RowLoss : IParallelBody
    {
        public float* Logits; public int* Target; public double* Out; public int V, Vp;

        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                float* z = Logits + (long)r * Vp;
                float m = Simd.Max(z, V);
                double lse = m + Math.Log(Simd.ExpSum(z, m, V));
                Out[r] = lse - z[Target[r]];
            }
        }
    }

    /// <summary>Adds the "perplexity" step (options: model, tokenizer, dtype, context, max_tokens, rows_per_forward and the thresholds) to a pipeline catalog.</summary>
    public static void AddStep(StepCatalog catalog) => catalog.Add("perplexity",
        "score documents with a SharpLM model and keep those within thresholds (model: dir, tokenizer, max_perplexity, min_perplexity, max_bits_per_byte, min_bits_per_byte, context, max_tokens, rows_per_forward, dtype: f32|bf16|int8)",
        a =>
        {
            string dir = a.String("model") ?? throw new InvalidDataException("step 'perplexity': option 'model' (a checkpoint folder with config.json and model.safetensors) is required");
            var options = new PerplexityScorerOptions
            {
                Context = a.Int("context", 0),
                MaxTokens = a.Int("max_tokens", 0),
                RowsPerForward = a.Int("rows_per_forward", 1024),
            };
            var thresholds = new PerplexityFilterOptions
            {
                MaxPerplexity = a.Double("max_perplexity", double.PositiveInfinity),
                MinPerplexity = a.Double("min_perplexity", 0),
                MaxBitsPerByte = a.Double("max_bits_per_byte", double.PositiveInfinity),
                MinBitsPerByte = a.Double("min_bits_per_byte", 0),
            };
            var format = WeightFormats.Parse(a.String("dtype", "f32")!);
            string? tok = a.String("tokenizer");
            return PipelineItem.Of(new PerplexityFilter(Load(dir, tok, format, options), thresholds));
        });

    /// <inheritdoc/>
    public void Dispose()
    {
        _cache?.Dispose();
        if (_ownsModel) _model.Dispose();
    }
}
