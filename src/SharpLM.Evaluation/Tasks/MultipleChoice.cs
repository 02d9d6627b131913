// Multiple-choice scoring by log-likelihood, as lm-evaluation-harness does for its multiple_choice
// tasks (ARC, HellaSwag, PIQA…): for each choice, the summed log-probability of the continuation
// " " + choice given the context; acc picks the highest sum, acc_norm the highest sum divided by the
// choice's length in characters (the harness's completion_len). Context/continuation are split as the
// harness's _encode_pair does: encode(context + continuation) and take the tokens after encode(context),
// with trailing spaces of the context moved to the continuation. Rows longer than the model's context
// are cut from the left. Reported with chance level (mean 1/#choices) and a Wilson 95% interval.
using SharpLM.Evaluation.Metrics;
using SharpLM.Models.Modeling;

namespace SharpLM.Evaluation.Tasks;

/// <summary>One question: the context to condition on, the candidate continuations and the index of the right one.</summary>
public sealed record McItem(string Id, string Context, IReadOnlyList<string> Choices, int Gold, string Group = "");

/// <summary>Scores of one question.</summary>
/// <param name="Item">The question.</param>
/// <param name="LogLikelihoods">Σ log p(continuation tokens | context) per choice.</param>
/// <param name="Predicted">argmax of the log-likelihoods (acc).</param>
/// <param name="PredictedNorm">argmax of log-likelihood / characters (acc_norm).</param>
public sealed record McScore(McItem Item, double[] LogLikelihoods, int Predicted, int PredictedNorm)
{
    /// <summary>acc for this question.</summary>
    public bool Correct => Predicted == Item.Gold;
    /// <summary>acc_norm for this question.</summary>
    public bool CorrectNorm => PredictedNorm == Item.Gold;
}

/// <summary>Aggregate accuracy with its interval and chance level.</summary>
public sealed record McResult(string Name, int N, int Correct, int CorrectNorm, double Chance)
{
    /// <summary>acc.</summary>
    public double Accuracy => N == 0 ? double.NaN : (double)Correct / N;
    /// <summary>acc_norm.</summary>
    public double AccuracyNorm => N == 0 ? double.NaN : (double)CorrectNorm / N;
    /// <summary>Wilson 95% interval of acc.</summary>
    public Interval AccuracyCi => Intervals.Wilson(Correct, N);
    /// <summary>Wilson 95% interval of acc_norm.</summary>
    public Interval AccuracyNormCi => Intervals.Wilson(CorrectNorm, N);

    /// <summary>Aggregates question scores.</summary>
    public static McResult From(string name, IReadOnlyList<McScore> scores) =>
        new(name, scores.Count, scores.Count(s => s.Correct), scores.Count(s => s.CorrectNorm),
            scores.Count == 0 ? double.NaN : scores.Average(s => 1.0 / s.Item.Choices.Count));
}

/// <summary>Log-likelihood multiple-choice evaluation of any <see cref="ILanguageModel"/>.</summary>
public static class MultipleChoice
{
    /// <summary>The harness's default separator between context and choice.</summary>
    public const string TargetDelimiter = " ";

    /// <summary>Context and continuation token ids, split as lm-evaluation-harness's _encode_pair.</summary>
    public static (int[] Context, int[] Continuation) EncodePair(Func<string, int[]> encode, string context, string continuation)
    {
        int spaces = context.Length - context.TrimEnd().Length;
        if (spaces > 0)
        {
            continuation = context[^spaces..] + continuation;
            context = context[..^spaces];
        }
        var whole = encode(context + continuation);
        var ctx = encode(context);
        int n = Math.Min(ctx.Length, whole.Length);
        return (ctx, whole[n..]);
    }

    /// <summary>Scores one question: one row per choice, all choices in one batch.</summary>
    public static McScore Score(ILanguageModel model, Func<string, int[]> encode, McItem item)
    {
        int k = item.Choices.Count;
        if (k == 0) throw new ArgumentException($"question {item.Id} has no choices");
        if (item.Gold < 0 || item.Gold >= k) throw new ArgumentException($"question {item.Id}: gold {item.Gold} is outside its {k} choices");
        int V = model.Config.VocabSize, maxCtx = model.Config.MaxPositions;
        var rows = new int[k][];
        var contLen = new int[k];
        for (int c = 0; c < k; c++)
        {
            var (ctx, cont) = EncodePair(encode, item.Context, TargetDelimiter + item.Choices[c]);
            if (cont.Length == 0) throw new ArgumentException($"question {item.Id}: choice {c} encodes to no tokens");
            if (ctx.Length == 0) throw new ArgumentException($"question {item.Id}: the context encodes to no tokens");
            var row = new int[ctx.Length + cont.Length];
            ctx.CopyTo(row, 0);
            cont.CopyTo(row, ctx.Length);
            // Inputs are row[..^1]; keep at most maxCtx of them (cut from the left, as the harness does).
            if (row.Length - 1 > maxCtx) row = row[^(maxCtx + 1)..];
            if (cont.Length > row.Length - 1) throw new ArgumentException($"question {item.Id}: choice {c} is longer than the model's context");
            rows[c] = row;
            contLen[c] = cont.Length;
        }
        int T = rows.Max(r => r.Length - 1);
        var inputs = new int[k * T]; // right-padded with token 0: a causal model never looks right, so padding is inert
        for (int c = 0; c < k; c++) rows[c].AsSpan(0, rows[c].Length - 1).CopyTo(inputs.AsSpan(c * T));
        var logits = new float[(long)k * T * V];
        model.Logits(inputs, k, T, logits);
        var ll = new double[k];
        for (int c = 0; c < k; c++)
        {
            var row = rows[c];
            int first = row.Length - 1 - contLen[c]; // input position predicting the first continuation token
            for (int t = first; t < row.Length - 1; t++)
                ll[c] += LanguageModeling.LogSoftmaxAt(logits.AsSpan((c * T + t) * V, V), row[t + 1]);
        }
        int best = 0, bestNorm = 0;
        for (int c = 1; c < k; c++)
        {
            if (ll[c] > ll[best]) best = c;
            if (ll[c] / item.Choices[c].Length > ll[bestNorm] / item.Choices[bestNorm].Length) bestNorm = c;
        }
        return new McScore(item, ll, best, bestNorm);
    }

    /// <summary>Scores every question.</summary>
    public static List<McScore> ScoreAll(ILanguageModel model, Func<string, int[]> encode, IEnumerable<McItem> items, Action<int>? progress = null)
    {
        var list = new List<McScore>();
        foreach (var item in items)
        {
            list.Add(Score(model, encode, item));
            progress?.Invoke(list.Count);
        }
        return list;
    }
}
