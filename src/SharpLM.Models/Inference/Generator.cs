// Text generation on top of InferenceModel: prefill every prompt in one batched pass, copy a prompt's cache
// to each of its n samples, then decode one token per active sequence per step, all sequences in one
// forward call. Stops per sequence on a stop token, a stop string (the text is cut before it, and text that
// could still become a stop string is held back from the stream), the max-new-tokens limit or a full
// context. Text is streamed UTF-8-safe: bytes of a character split across tokens wait for the rest.
// Reports time to first token, prefill tokens/s and decode tokens/s.
// Not here: chat templates, speculative decoding, continuous batching of requests arriving over time.
using System.Diagnostics;
using System.Text;
using SharpLM.Text.Tokenization;

namespace SharpLM.Models.Inference;

/// <summary>What to generate.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most new tokens per sequence.</summary>
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>Samples per prompt (n).</summary>
    public int Samples { get; init; } = 1;
    /// <summary>Token ids that end a sequence (not included in the output).</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];
    /// <summary>Strings that end a sequence (the output stops before them; needs a tokenizer).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Sampling settings.</summary>
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Longest context (prompt + generated); 0 = the model's maximum.</summary>
    public int MaxContext { get; init; }
}

/// <summary>One generated sequence.</summary>
/// <param name="Prompt">Index of its prompt.</param>
/// <param name="Sample">Index of the sample for that prompt.</param>
/// <param name="Tokens">Generated ids (without a stop token).</param>
/// <param name="Text">Decoded text, cut before a stop string (null without a tokenizer).</param>
/// <param name="FinishReason">"stop" (stop token or string), "length" (max tokens) or "context" (context full).</param>
public sealed record GeneratedSequence(int Prompt, int Sample, int[] Tokens, string? Text, string FinishReason);

/// <summary>Timing of a generation call.</summary>
/// <param name="PromptTokens">Prompt tokens prefilled (each prompt once).</param>
/// <param name="GeneratedTokens">Tokens sampled over all sequences.</param>
/// <param name="TimeToFirstToken">Seconds from the call to the first sampled token (prefill included).</param>
/// <param name="PrefillSeconds">Seconds of the prefill pass.</param>
/// <param name="DecodeSeconds">Seconds of the decode steps.</param>
/// <param name="DecodeSteps">Decode forward passes.</param>
public sealed record GenerationStats(int PromptTokens, int GeneratedTokens, double TimeToFirstToken, double PrefillSeconds, double DecodeSeconds, int DecodeSteps)
{
    /// <summary>Prompt tokens per second of prefill.</summary>
    public double PrefillTokensPerSecond => PrefillSeconds > 0 ? PromptTokens / PrefillSeconds : 0;
    /// <summary>Tokens per second produced by the decode steps (all sequences).</summary>
    public double DecodeTokensPerSecond => DecodeSeconds > 0 ? (GeneratedTokens - FirstTokens) / DecodeSeconds : 0;
    /// <summary>Tokens sampled from the prefill logits (one per sequence).</summary>
    public int FirstTokens { get; init; }
}

/// <summary>Generates continuations with a KV cache.</summary>
public sealed class Generator(InferenceModel model, BpeTokenizer? tokenizer = null)
{
    /// <summary>The model.</summary>
    public InferenceModel Model => model;

    /// <summary>
    /// Generates <see cref="GenerationOptions.Samples"/> continuations of each prompt. <paramref name="onText"/>
    /// receives (sequence index, text delta) as text becomes final (sequence index = prompt·n + sample).
    /// </summary>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<int[]> prompts, GenerationOptions o, out GenerationStats stats, Action<int, string>? onText = null)
    {
        if (prompts.Count == 0) throw new ArgumentException("generate: no prompts");
        if (o.Samples < 1) throw new ArgumentException($"generate: samples must be ≥ 1, got {o.Samples}");
        if (o.MaxNewTokens < 0) throw new ArgumentException($"generate: max new tokens must be ≥ 0, got {o.MaxNewTokens}");
        if (o.StopStrings.Count > 0 && tokenizer == null) throw new ArgumentException("generate: stop strings need a tokenizer");
        o.Sampling.Validate();
        var cfg = model.Config;
        int V = cfg.PaddedVocabSize, n = o.Samples, P = prompts.Count, S = P * n;
        int maxPrompt = 0, totalPrompt = 0;
        foreach (var p in prompts)
        {
            if (p.Length == 0) throw new ArgumentException("generate: a prompt is empty (give at least one token)");
            maxPrompt = Math.Max(maxPrompt, p.Length);
            totalPrompt += p.Length;
        }
        int ctx = o.MaxContext > 0 ? Math.Min(o.MaxContext, cfg.MaxPositions) : cfg.MaxPositions;
        if (maxPrompt > ctx) throw new ArgumentException($"generate: prompt of {maxPrompt} tokens does not fit the context of {ctx}");
        int cacheLen = Math.Min(ctx, maxPrompt + o.MaxNewTokens);
        using var cache = model.CreateCache(S, Math.Max(1, cacheLen));

        var seqs = new Seq[S];
        for (int s = 0; s < S; s++)
        {
            seqs[s] = new Seq(new Sampler(o.Sampling, cfg.VocabSize, s), tokenizer?.CreateStreamDecoder());
            seqs[s].Sampler.ObservePrompt(prompts[s / n]);
        }

        // Prefill: every prompt's tokens in one forward pass, logits of each prompt's last token.
        long t0 = Stopwatch.GetTimestamp();
        var tok = new int[totalPrompt]; var sq = new int[totalPrompt]; var ps = new int[totalPrompt]; var last = new int[P];
        int r = 0;
        for (int p = 0; p < P; p++)
        {
            for (int t = 0; t < prompts[p].Length; t++) { tok[r] = prompts[p][t]; sq[r] = p * n; ps[r] = t; r++; }
            last[p] = r - 1;
        }
        var prefillLogits = new float[(long)P * V];
        model.Forward(cache, tok, sq, ps, last, prefillLogits);
        for (int p = 0; p < P; p++)
            for (int j = 1; j < n; j++) cache.CopySequence(p * n, p * n + j);
        double prefill = Stopwatch.GetElapsedTime(t0).TotalSeconds;

        var logits = new float[(long)S * V];
        for (int s = 0; s < S; s++) Array.Copy(prefillLogits, (long)(s / n) * V, logits, (long)s * V, V);
        var rowOf = new int[S];
        for (int s = 0; s < S; s++) rowOf[s] = s;
        double ttft = 0; int generated = 0, steps = 0;
        long d0 = 0;
        var active = new List<int>(S);
        for (int s = 0; s < S; s++) active.Add(s);
        if (o.MaxNewTokens == 0) foreach (var s in seqs) s.Finish = "length";
        var stepTok = new int[S]; var stepSeq = new int[S]; var stepPos = new int[S]; var stepRows = new int[S];
        while (true)
        {
            // Sample one token for every active sequence from its logits row.
            int a = 0;
            foreach (int s in active)
            {
                var q = seqs[s];
                if (q.Finish != null) continue;
                int id = q.Sampler.Sample(new ReadOnlySpan<float>(logits, rowOf[s] * V, V));
                generated++;
                if (generated == 1) { ttft = Stopwatch.GetElapsedTime(t0).TotalSeconds; d0 = Stopwatch.GetTimestamp(); }
                if (Contains(o.StopTokens, id)) { q.Finish = "stop"; Flush(s, q, onText); continue; }
                q.Tokens.Add(id);
                q.Sampler.Observe(id);
                if (q.Decoder != null) { q.Text.Append(q.Decoder.Add(id)); if (Emit(s, q, o.StopStrings, onText)) continue; }
                if (q.Tokens.Count >= o.MaxNewTokens) { q.Finish = "length"; Flush(s, q, onText); continue; }
                if (cache.Length(s) >= cache.MaxLength) { q.Finish = "context"; Flush(s, q, onText); continue; }
                stepTok[a] = id; stepSeq[a] = s; stepPos[a] = cache.Length(s); stepRows[a] = a; rowOf[s] = a; a++;
            }
            active.RemoveAll(s => seqs[s].Finish != null);
            if (a == 0) break;
            model.Forward(cache, stepTok.AsSpan(0, a), stepSeq.AsSpan(0, a), stepPos.AsSpan(0, a), stepRows.AsSpan(0, a), logits);
            steps++;
        }
        double decode = d0 == 0 ? 0 : Stopwatch.GetElapsedTime(d0).TotalSeconds;
        int firsts = Math.Min(S, generated);
        stats = new GenerationStats(totalPrompt, generated, ttft, prefill, decode, steps) { FirstTokens = firsts };
        var res = new GeneratedSequence[S];
        for (int s = 0; s < S; s++)
            res[s] = new GeneratedSequence(s / n, s % n, [.. seqs[s].Tokens], seqs[s].Decoder != null ? seqs[s].Final : null, seqs[s].Finish ?? "length");
        return res;
    }

    private static bool Contains(IReadOnlyList<int> list, int id)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == id) return true;
        return false;
    }

    /// <summary>Streams final text; true if a stop string ended the sequence.</summary>
    private static bool Emit(int s, Seq q, IReadOnlyList<string> stops, Action<int, string>? onText)
    {
        string text = q.Text.ToString();
        int hold = 0;
        foreach (var stop in stops)
        {
            if (stop.Length == 0) continue;
            int at = text.IndexOf(stop, Math.Max(0, q.Emitted - stop.Length + 1), StringComparison.Ordinal);
            if (at >= 0)
            {
                q.Text.Length = at;
                q.Finish = "stop";
                Send(s, q, at, onText);
                q.Final = q.Text.ToString();
                return true;
            }
            for (int k = Math.Min(stop.Length - 1, text.Length - q.Emitted); k > hold; k--)
                if (text.AsSpan(text.Length - k).SequenceEqual(stop.AsSpan(0, k))) { hold = k; break; }
        }
        Send(s, q, text.Length - hold, onText);
        return false;
    }

    private static void Flush(int s, Seq q, Action<int, string>? onText)
    {
        if (q.Decoder == null) return;
        q.Text.Append(q.Decoder.Flush());
        Send(s, q, q.Text.Length, onText);
        q.Final = q.Text.ToString();
    }

    private static void Send(int s, Seq q, int upTo, Action<int, string>? onText)
    {
        if (upTo <= q.Emitted) return;
        onText?.Invoke(s, q.Text.ToString(q.Emitted, upTo - q.Emitted));
        q.Emitted = upTo;
    }

    private sealed class Seq(Sampler sampler, Utf8StreamDecoder? decoder)
    {
        public readonly Sampler Sampler = sampler;
        public readonly Utf8StreamDecoder? Decoder = decoder;
        public readonly List<int> Tokens = [];
        public readonly StringBuilder Text = new();
        public int Emitted;
        public string? Finish;
        public string Final = "";
    }
}
