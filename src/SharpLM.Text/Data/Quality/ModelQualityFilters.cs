// Model-based quality filtering. (1) A fastText-style classifier (HashedNgramClassifier over word 1–2-grams),
// trained by `sharplm data train-quality` from positive (high-quality) and negative examples, as DCLM's and
// FineWeb-Edu's classifiers are; documents whose probability of the positive class is below the threshold are
// dropped, the score kept in metadata "quality_score". The perplexity filter (CCNet-style, scoring with a small
// language model) is in PerplexityFilter.cs.
using SharpLM.Text.Data.LangId;

namespace SharpLM.Text.Data.Quality;

/// <summary>Keeps documents the quality classifier scores at or above a threshold.</summary>
public sealed class QualityClassifierFilter : IParallelSafeFilter
{
    private readonly HashedNgramClassifier _model;
    private readonly int _positive;
    private readonly double _threshold;

    /// <summary>Positive label of models written by train-quality.</summary>
    public const string PositiveLabel = "hq";

    /// <summary>A filter keeping P(<paramref name="positiveLabel"/>) ≥ <paramref name="threshold"/>.</summary>
    public QualityClassifierFilter(HashedNgramClassifier model, double threshold = 0.5, string positiveLabel = PositiveLabel)
    {
        _model = model;
        _threshold = threshold;
        _positive = model.Labels.ToList().IndexOf(positiveLabel);
        if (_positive < 0) throw new ArgumentException($"quality model has no label '{positiveLabel}' (labels: {string.Join(", ", model.Labels)})");
    }

    /// <inheritdoc/>
    public string Name => "quality_classifier";

    /// <summary>Probability of the positive class.</summary>
    public double Score(string text)
    {
        Span<float> p = stackalloc float[HashedNgramClassifier.Stride];
        _model.Predict(text, p[.._model.Labels.Count]);
        return p[_positive];
    }

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        double s = Score(doc.Text);
        doc.Metadata["quality_score"] = Math.Round(s, 4);
        return s >= _threshold ? FilterVerdict.Kept : FilterVerdict.Drop($"{Name}:low_score");
    }

    /// <summary>Trains a quality model on positive and negative texts (word 1–2-grams).</summary>
    public static HashedNgramClassifier Train(IEnumerable<string> positive, IEnumerable<string> negative, ClassifierTrainOptions? options = null)
    {
        var data = positive.Select(t => (t, PositiveLabel)).Concat(negative.Select(t => (t, "lq"))).ToList();
        var o = options ?? new ClassifierTrainOptions { Kind = FeatureKind.WordNgrams, MinN = 1, MaxN = 2, Buckets = 1 << 18, Epochs = 5, LearningRate = 1f, MaxChars = 20_000 };
        return HashedNgramClassifier.Train(data, o, [PositiveLabel, "lq"]);
    }
}
