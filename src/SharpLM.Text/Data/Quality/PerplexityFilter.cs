// Perplexity filtering (CCNet, Wenzek et al. 2020; also the "model-based quality" of Dolma and RedPajama): a
// small reference language model scores each document, and documents it finds too surprising (garbage, spam,
// boilerplate soup, other languages) — or suspiciously predictable (repeated templates) — are dropped. This file is
// the model-agnostic half: the score of a document (summed next-token loss over its tokens and the UTF-8 bytes
// those tokens cover), the thresholds, and the batched pipeline step. The SharpLM language-model scorer is
// SharpLM.Models.Inference.ModelPerplexityScorer (this project cannot reference models).
//   perplexity    = exp(Σ nats / tokens)          (per token; depends on the tokenizer)
//   bits per byte = Σ nats / (ln 2 · Σ bytes)      (per UTF-8 byte; comparable across tokenizers)
// Kept documents carry metadata "perplexity", "bits_per_byte" and "ppl_tokens".
namespace SharpLM.Text.Data.Quality;

/// <summary>A document's score under a language model.</summary>
/// <param name="Nats">Σ −ln p(token | preceding tokens) over the scored tokens.</param>
/// <param name="Tokens">Tokens scored.</param>
/// <param name="Bytes">UTF-8 bytes the scored tokens decode to.</param>
public readonly record struct PerplexityScore(double Nats, long Tokens, long Bytes)
{
    /// <summary>exp(mean loss per token); NaN without tokens.</summary>
    public double Perplexity => Tokens == 0 ? double.NaN : Math.Exp(Nats / Tokens);

    /// <summary>Bits per UTF-8 byte; NaN without bytes.</summary>
    public double BitsPerByte => Bytes == 0 ? double.NaN : Nats / (Math.Log(2) * Bytes);
}

/// <summary>Scores texts with a language model, a batch at a time.</summary>
public interface IPerplexityScorer
{
    /// <summary>What scores (model and tokenizer), for messages.</summary>
    string Describe { get; }

    /// <summary>Scores every text: <paramref name="scores"/>[i] is the score of texts[i], independent of the other texts in the batch.</summary>
    void Score(IReadOnlyList<string> texts, Span<PerplexityScore> scores);
}

/// <summary>Thresholds of <see cref="PerplexityFilter"/>: a document is kept when every bound holds.</summary>
public sealed record PerplexityFilterOptions
{
    /// <summary>Largest perplexity per token kept.</summary>
    public double MaxPerplexity { get; init; } = double.PositiveInfinity;
    /// <summary>Smallest perplexity per token kept (drops repeated templates).</summary>
    public double MinPerplexity { get; init; }
    /// <summary>Largest bits per byte kept.</summary>
    public double MaxBitsPerByte { get; init; } = double.PositiveInfinity;
    /// <summary>Smallest bits per byte kept.</summary>
    public double MinBitsPerByte { get; init; }

    /// <summary>Throws unless the bounds are ordered and not negative.</summary>
    public PerplexityFilterOptions Validate()
    {
        if (MinPerplexity < 0 || MaxPerplexity < MinPerplexity || double.IsNaN(MaxPerplexity) || double.IsNaN(MinPerplexity))
            throw new ArgumentException($"perplexity filter: need 0 ≤ min_perplexity ({MinPerplexity}) ≤ max_perplexity ({MaxPerplexity})");
        if (MinBitsPerByte < 0 || MaxBitsPerByte < MinBitsPerByte || double.IsNaN(MaxBitsPerByte) || double.IsNaN(MinBitsPerByte))
            throw new ArgumentException($"perplexity filter: need 0 ≤ min_bits_per_byte ({MinBitsPerByte}) ≤ max_bits_per_byte ({MaxBitsPerByte})");
        return this;
    }
}

/// <summary>Keeps documents whose perplexity and bits per byte lie within the thresholds; scores go to metadata.</summary>
public sealed class PerplexityFilter : IBatchFilter
{
    private readonly IPerplexityScorer _scorer;
    private readonly PerplexityFilterOptions _o;

    /// <summary>A filter scoring with <paramref name="scorer"/>.</summary>
    public PerplexityFilter(IPerplexityScorer scorer, PerplexityFilterOptions options)
    {
        _scorer = scorer;
        _o = options.Validate();
    }

    /// <inheritdoc/>
    public string Name => "perplexity";

    /// <summary>The scorer.</summary>
    public IPerplexityScorer Scorer => _scorer;

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        var v = new FilterVerdict[1];
        ApplyBatch([doc], v);
        return v[0];
    }

    /// <inheritdoc/>
    /// <remarks>The scorer chooses its threads (SharpLM models run on the WorkerPool, which `data run --threads` sets).</remarks>
    public void ApplyBatch(IReadOnlyList<Document> docs, Span<FilterVerdict> verdicts, int threads = 0)
    {
        var texts = new string[docs.Count];
        for (int i = 0; i < texts.Length; i++) texts[i] = docs[i].Text;
        var scores = new PerplexityScore[texts.Length];
        _scorer.Score(texts, scores);
        for (int i = 0; i < texts.Length; i++)
        {
            var s = scores[i];
            var m = docs[i].Metadata;
            m["ppl_tokens"] = s.Tokens;
            if (s.Tokens == 0 || s.Bytes == 0) { verdicts[i] = FilterVerdict.Drop($"{Name}:empty"); continue; }
            double ppl = s.Perplexity, bpb = s.BitsPerByte;
            m["perplexity"] = Math.Round(ppl, 4);
            m["bits_per_byte"] = Math.Round(bpb, 4);
            verdicts[i] = Decide(ppl, bpb);
        }
    }

    /// <summary>The verdict for a document with these scores.</summary>
    public FilterVerdict Decide(double perplexity, double bitsPerByte) =>
        perplexity > _o.MaxPerplexity ? FilterVerdict.Drop($"{Name}:perplexity_above_max")
        : perplexity < _o.MinPerplexity ? FilterVerdict.Drop($"{Name}:perplexity_below_min")
        : bitsPerByte > _o.MaxBitsPerByte ? FilterVerdict.Drop($"{Name}:bits_per_byte_above_max")
        : bitsPerByte < _o.MinBitsPerByte ? FilterVerdict.Drop($"{Name}:bits_per_byte_below_min")
        : FilterVerdict.Kept;
}
