// Language-modelling metrics over a held-out token stream: mean next-token loss (nats), perplexity and
// bits per byte (Σ nats / (ln 2 · Σ UTF-8 bytes of the predicted tokens), as nanochat's evaluate_bpb and
// the Pile/Gao et al. 2020 report it, so models with different tokenizers compare), and the unigram
// baseline: a model that ignores context and predicts each token with its add-one-smoothed training
// frequency (Laplace). A pretrained model should sit far below the unigram line.
// Every token of the stream after the first is predicted exactly once: windows of seq+1 tokens advance
// by seq, the last window is shorter. Not here: the pretraining loop's own validation (Training.Validation).
using SharpLM.Models.Modeling;

namespace SharpLM.Evaluation.Metrics;

/// <summary>Summed loss over scored tokens, with the derived metrics.</summary>
/// <param name="Nats">Σ −log p(token) over scored tokens.</param>
/// <param name="Tokens">Tokens scored.</param>
/// <param name="Bytes">UTF-8 bytes those tokens decode to (special tokens count 0 and are left out of Nats for bpb).</param>
/// <param name="NatsOfByteTokens">Σ −log p over scored tokens that decode to at least one byte.</param>
public readonly record struct LmScore(double Nats, long Tokens, long Bytes, double NatsOfByteTokens)
{
    /// <summary>Mean loss per token (nats).</summary>
    public double Loss => Tokens == 0 ? double.NaN : Nats / Tokens;
    /// <summary>exp(loss).</summary>
    public double Perplexity => Math.Exp(Loss);
    /// <summary>Bits per UTF-8 byte.</summary>
    public double BitsPerByte => Bytes == 0 ? double.NaN : NatsOfByteTokens / (Math.Log(2) * Bytes);
}

/// <summary>Scores token streams with a model or with the unigram baseline.</summary>
public static class LanguageModeling
{
    /// <summary>Bits per byte from summed nats and bytes.</summary>
    public static double BitsPerByte(double nats, long bytes) => nats / (Math.Log(2) * bytes);

    /// <summary>
    /// Scores every token of <paramref name="tokens"/> after the first with <paramref name="model"/>, in windows of
    /// <paramref name="seq"/> inputs, <paramref name="batch"/> windows per call. <paramref name="bytesPerToken"/>[id] is
    /// each token's UTF-8 length (BpeTokenizer.BytesPerToken).
    /// </summary>
    public static LmScore Score(ILanguageModel model, ReadOnlySpan<int> tokens, int seq, ReadOnlySpan<int> bytesPerToken, int batch = 4)
    {
        if (seq <= 0 || seq > model.Config.MaxPositions) throw new ArgumentOutOfRangeException(nameof(seq), seq, $"must be in [1, {model.Config.MaxPositions}]");
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch));
        int V = model.Config.VocabSize;
        var inputs = new int[batch * seq];
        var logits = new float[(long)batch * seq * V];
        double nats = 0, natsBytes = 0;
        long count = 0, bytes = 0;
        int n = tokens.Length;
        var starts = new int[batch];
        int start = 0; // window w covers inputs tokens[start .. start+len), targets tokens[start+1 .. start+len]
        while (start < n - 1)
        {
            // Fill up to `batch` full windows of the same length (the last, shorter window goes alone).
            int len = Math.Min(seq, n - 1 - start);
            int rows = 0;
            while (rows < batch && start < n - 1 && Math.Min(seq, n - 1 - start) == len)
            {
                starts[rows] = start;
                tokens.Slice(start, len).CopyTo(inputs.AsSpan(rows * len, len));
                rows++;
                start += len;
            }
            model.Logits(inputs.AsSpan(0, rows * len), rows, len, logits.AsSpan(0, rows * len * V));
            for (int r = 0; r < rows; r++)
                for (int t = 0; t < len; t++)
                {
                    int target = tokens[starts[r] + t + 1];
                    double l = -LogSoftmaxAt(logits.AsSpan((r * len + t) * V, V), target);
                    nats += l;
                    count++;
                    int nb = (uint)target < (uint)bytesPerToken.Length ? bytesPerToken[target] : 0;
                    if (nb > 0) { natsBytes += l; bytes += nb; }
                }
        }
        return new LmScore(nats, count, bytes, natsBytes);
    }

    /// <summary>log softmax(x)[target], computed in double.</summary>
    public static double LogSoftmaxAt(ReadOnlySpan<float> x, int target)
    {
        if ((uint)target >= (uint)x.Length) throw new ArgumentOutOfRangeException(nameof(target), target, $"outside the vocabulary of {x.Length}");
        double max = double.NegativeInfinity;
        foreach (float v in x) max = Math.Max(max, v);
        double s = 0;
        foreach (float v in x) s += Math.Exp(v - max);
        return x[target] - max - Math.Log(s);
    }
}

/// <summary>The context-free baseline: p(v) = (count(v) + α) / (N + α·V).</summary>
public sealed class UnigramModel
{
    private readonly double[] _logP;

    /// <summary>Vocabulary size.</summary>
    public int VocabSize => _logP.Length;

    /// <summary>An empty model over <paramref name="vocabSize"/> ids with add-<paramref name="alpha"/> smoothing; feed it with <see cref="Add"/>.</summary>
    public UnigramModel(int vocabSize, double alpha = 1.0)
    {
        if (vocabSize <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize));
        if (alpha <= 0) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "smoothing must be positive so unseen tokens have a finite loss");
        Alpha = alpha;
        _counts = new long[vocabSize];
        _logP = new double[vocabSize];
        Refresh();
    }

    private readonly long[] _counts;
    private long _total;

    /// <summary>Smoothing constant.</summary>
    public double Alpha { get; }

    /// <summary>Adds training tokens.</summary>
    public void Add(ReadOnlySpan<int> training)
    {
        foreach (int t in training)
        {
            if ((uint)t >= (uint)_counts.Length) throw new ArgumentOutOfRangeException(nameof(training), t, $"token id outside the vocabulary of {_counts.Length}");
            _counts[t]++;
        }
        _total += training.Length;
        Refresh();
    }

    private void Refresh()
    {
        double denom = _total + Alpha * _counts.Length;
        for (int v = 0; v < _counts.Length; v++) _logP[v] = Math.Log((_counts[v] + Alpha) / denom);
    }

    /// <summary>log p(v).</summary>
    public double LogProb(int v) => _logP[v];

    /// <summary>Scores every token of <paramref name="tokens"/> after the first (the same targets as <see cref="LanguageModeling.Score"/>).</summary>
    public LmScore Score(ReadOnlySpan<int> tokens, ReadOnlySpan<int> bytesPerToken)
    {
        double nats = 0, natsBytes = 0;
        long bytes = 0;
        for (int i = 1; i < tokens.Length; i++)
        {
            double l = -_logP[tokens[i]];
            nats += l;
            int nb = (uint)tokens[i] < (uint)bytesPerToken.Length ? bytesPerToken[tokens[i]] : 0;
            if (nb > 0) { natsBytes += l; bytes += nb; }
        }
        return new LmScore(nats, Math.Max(0, tokens.Length - 1), bytes, natsBytes);
    }
}
