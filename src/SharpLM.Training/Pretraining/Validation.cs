// Validation loss, bits per byte and greedy samples for the pretraining loop.
//   Loss: mean next-token cross-entropy (nats) over every target of a fixed set of validation batches
//   (the val loader is reset first, so every pass sees the same tokens).
//   Bits per byte (nanochat's evaluate_bpb): Σ nats over targets that decode to bytes / (ln 2 · Σ their
//   bytes), with each token's byte count from the tokenizer (BpeTokenizer.BytesPerToken); special tokens
//   (0 bytes) are left out of both sums. Per-token losses need the logits, so with a tokenizer the pass runs
//   through ILanguageModel.Logits a few rows at a time and takes log-softmax in double; without one every
//   token counts as one byte (byte-level data), the pass uses ILanguageModel.Loss and bpb = loss / ln 2.
//   Greedy sample: full recompute through ILanguageModel.Logits on the growing sequence (the last
//   MaxPositions tokens), argmax over the real vocabulary — slow per token but needs nothing from the model
//   beyond the interface; KV-cache generation lives with the model.
// Not here: sampling with temperature / top-k (inference), benchmark tasks (evaluation).
using SharpLM.Models.Modeling;
using SharpLM.Training.Data;

namespace SharpLM.Training.Pretraining;

/// <summary>Result of a validation pass.</summary>
/// <param name="Loss">Mean cross-entropy in nats over all targets.</param>
/// <param name="BitsPerByte">Bits per byte of the targets that decode to bytes.</param>
/// <param name="Tokens">Targets scored.</param>
/// <param name="Bytes">Bytes those targets decode to.</param>
public readonly record struct ValidationResult(double Loss, double BitsPerByte, long Tokens, long Bytes);

/// <summary>Validation loss, bits per byte and greedy generation through <see cref="ILanguageModel"/>.</summary>
public static class Validation
{
    /// <summary>
    /// Scores <paramref name="batches"/> batches of <paramref name="loader"/> from its start.
    /// <paramref name="bytesPerToken"/> (indexed by id) gives each token's byte length; empty means one byte per token.
    /// </summary>
    public static ValidationResult Evaluate(ILanguageModel model, TokenLoader loader, int batches, ReadOnlySpan<int> bytesPerToken)
    {
        int B = loader.Options.BatchSize, T = loader.Options.SeqLen, W = T + 1;
        var rows = new int[B * W];
        loader.Reset();
        if (bytesPerToken.IsEmpty)
        {
            double sum = 0;
            for (int k = 0; k < batches; k++)
            {
                loader.NextBatch(rows);
                sum += model.Loss(rows, B, T);
            }
            double loss = sum / batches;
            long n = (long)batches * B * T;
            return new ValidationResult(loss, loss / Math.Log(2), n, n);
        }
        // Per-token losses from logits, a few rows at a time (at most ~256 MB of logits).
        int V = model.Config.VocabSize;
        int chunk = (int)Math.Clamp((64L << 20) / ((long)T * V), 1, B);
        var logits = new float[(long)chunk * T * V];
        var inputs = new int[chunk * T];
        double nats = 0, natsCounted = 0;
        long tokens = 0, bytes = 0;
        for (int k = 0; k < batches; k++)
        {
            loader.NextBatch(rows);
            for (int r0 = 0; r0 < B; r0 += chunk)
            {
                int R = Math.Min(chunk, B - r0);
                for (int r = 0; r < R; r++) rows.AsSpan((r0 + r) * W, T).CopyTo(inputs.AsSpan(r * T, T));
                model.Logits(inputs.AsSpan(0, R * T), R, T, logits.AsSpan(0, R * T * V));
                for (int r = 0; r < R; r++)
                    for (int t = 0; t < T; t++)
                    {
                        int target = rows[(r0 + r) * W + t + 1];
                        double l = TokenLoss(logits.AsSpan((r * T + t) * V, V), target);
                        nats += l;
                        tokens++;
                        int nb = (uint)target < (uint)bytesPerToken.Length ? bytesPerToken[target] : 0;
                        if (nb > 0) { natsCounted += l; bytes += nb; }
                    }
            }
        }
        return new ValidationResult(nats / tokens, bytes == 0 ? double.NaN : natsCounted / (Math.Log(2) * bytes), tokens, bytes);
    }

    /// <summary>−log softmax(x)[target] in double.</summary>
    internal static double TokenLoss(ReadOnlySpan<float> x, int target)
    {
        if ((uint)target >= (uint)x.Length) throw new ArgumentException($"validation target id {target} is outside the model's vocabulary of {x.Length}");
        double max = double.NegativeInfinity;
        foreach (float v in x) max = Math.Max(max, v);
        double s = 0;
        foreach (float v in x) s += Math.Exp(v - max);
        return max + Math.Log(s) - x[target];
    }

    /// <summary>Greedy continuation of <paramref name="prompt"/> by <paramref name="count"/> tokens (full recompute each token).</summary>
    public static int[] Greedy(ILanguageModel model, ReadOnlySpan<int> prompt, int count)
    {
        if (prompt.IsEmpty) throw new ArgumentException("greedy sampling needs a prompt of at least one token");
        int V = model.Config.VocabSize, ctx = model.Config.MaxPositions;
        var seq = new List<int>(prompt.Length + count);
        foreach (int id in prompt) seq.Add(id);
        int maxLen = Math.Min(ctx, prompt.Length + count);
        var logits = new float[(long)maxLen * V];
        var outp = new int[count];
        for (int i = 0; i < count; i++)
        {
            int len = Math.Min(ctx, seq.Count), from = seq.Count - len;
            var window = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seq).Slice(from, len);
            model.Logits(window, 1, len, logits.AsSpan(0, len * V));
            var last = logits.AsSpan((len - 1) * V, V);
            int best = 0;
            for (int v = 1; v < V; v++)
                if (last[v] > last[best]) best = v;
            outp[i] = best;
            seq.Add(best);
        }
        return outp;
    }
}
