// Domains and mixture (as in Dolma's and DoReMi-style data recipes): every document gets a domain (a metadata
// field, or a domain classifier — the same hashed n-gram linear model as language ID and quality), per-domain
// documents/bytes/tokens are counted, and documents are sampled so that each domain's share of tokens matches
// target weights. With no upsampling the largest total that needs no repetition is taken (the scarcest domain
// relative to its weight is kept whole); with upsampling allowed, the total is the input total and domains below
// target repeat. Sampling is deterministic: document d of domain k is kept ⌊r_k⌋ times plus once more when
// hash(id) < frac(r_k). A high-quality "anneal" subset (quality_score ≥ a threshold, or chosen domains) is written
// separately for the end of training. Tokens are counted with a tokenizer when given, else UTF-8 bytes / 4
// (marked "estimated" in mixture.json).
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using SharpLM.Text.Data.LangId;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Text.Data.Mixture;

/// <summary>Per-domain counts before and after sampling.</summary>
public sealed record DomainCounts(string Domain, long Docs, long Bytes, long Tokens, double Weight, double Rate, long DocsOut, long TokensOut);

/// <summary>Mixture settings.</summary>
public sealed record MixOptions
{
    /// <summary>Target token share per domain (normalised to sum 1). Domains not listed are dropped.</summary>
    public required IReadOnlyDictionary<string, double> Weights { get; init; }
    /// <summary>Metadata field holding the domain.</summary>
    public string DomainField { get; init; } = "domain";
    /// <summary>Classifier assigning domains when the field is absent.</summary>
    public HashedNgramClassifier? DomainModel { get; init; }
    /// <summary>Counts tokens of a text; null = UTF-8 bytes / 4.</summary>
    public Func<string, int>? CountTokens { get; init; }
    /// <summary>Repeat documents of domains below target.</summary>
    public bool AllowUpsample { get; init; }
    /// <summary>Documents with metadata quality_score ≥ this go to the anneal set.</summary>
    public double? AnnealMinScore { get; init; }
    /// <summary>Documents of these domains go to the anneal set.</summary>
    public IReadOnlyList<string> AnnealDomains { get; init; } = [];
}

/// <summary>Counts domains and samples to target proportions.</summary>
public static class DomainMixer
{
    /// <summary>The domain of a document (field, else classifier, else "unknown"); recorded in metadata.</summary>
    public static string DomainOf(Document d, MixOptions o)
    {
        if (d.Metadata.TryGetValue(o.DomainField, out var v) && v is string s && s.Length > 0) return s;
        if (o.DomainModel is null) return "unknown";
        var dom = o.DomainModel.PredictTop(d.Text).Label;
        d.Metadata[o.DomainField] = dom;
        return dom;
    }

    /// <summary>Two passes over <paramref name="input"/> (call it twice): count, then sample into
    /// outDir/mixed.jsonl.gz and outDir/anneal.jsonl.gz; writes outDir/mixture.json.</summary>
    public static IReadOnlyList<DomainCounts> Run(Func<IEnumerable<Document>> input, string outDir, MixOptions o)
    {
        double wsum = o.Weights.Values.Sum();
        if (wsum <= 0 || o.Weights.Values.Any(w => w < 0)) throw new ArgumentException("mixture weights must be non-negative and not all zero");
        var weights = o.Weights.ToDictionary(kv => kv.Key, kv => kv.Value / wsum, StringComparer.Ordinal);
        int Tokens(string t) => o.CountTokens?.Invoke(t) ?? (Encoding.UTF8.GetByteCount(t) + 3) / 4;

        var docs = new Dictionary<string, long>(StringComparer.Ordinal);
        var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
        var tokens = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var d in input())
        {
            var k = DomainOf(d, o);
            docs[k] = docs.GetValueOrDefault(k) + 1;
            bytes[k] = bytes.GetValueOrDefault(k) + Encoding.UTF8.GetByteCount(d.Text);
            tokens[k] = tokens.GetValueOrDefault(k) + Tokens(d.Text);
        }
        // Total output tokens T: without upsampling, the largest T with T·w_k ≤ tokens_k for every weighted domain.
        double total = tokens.Where(kv => weights.ContainsKey(kv.Key)).Sum(kv => kv.Value);
        double T = o.AllowUpsample ? total : weights.Where(kv => kv.Value > 0).Min(kv => tokens.GetValueOrDefault(kv.Key) / kv.Value);
        var rate = weights.ToDictionary(kv => kv.Key, kv => tokens.GetValueOrDefault(kv.Key) == 0 ? 0 : kv.Value * T / tokens[kv.Key], StringComparer.Ordinal);

        var docsOut = new Dictionary<string, long>(StringComparer.Ordinal);
        var tokensOut = new Dictionary<string, long>(StringComparer.Ordinal);
        Directory.CreateDirectory(outDir);
        using (var mixed = new DocumentWriter(Path.Combine(outDir, "mixed.jsonl.gz")))
        using (var anneal = new DocumentWriter(Path.Combine(outDir, "anneal.jsonl.gz")))
        {
            foreach (var d in input())
            {
                var k = DomainOf(d, o);
                bool toAnneal = o.AnnealDomains.Contains(k)
                    || (o.AnnealMinScore is { } min && d.Metadata.TryGetValue("quality_score", out var q) && q is double qs && qs >= min);
                if (toAnneal) anneal.Write(d);
                if (!rate.TryGetValue(k, out double r) || r <= 0) continue;
                int copies = (int)Math.Floor(r) + (Unit(d.Id) < r - Math.Floor(r) ? 1 : 0);
                for (int c = 0; c < copies; c++) mixed.Write(d);
                docsOut[k] = docsOut.GetValueOrDefault(k) + copies;
                tokensOut[k] = tokensOut.GetValueOrDefault(k) + (long)copies * Tokens(d.Text);
            }
            mixed.Commit();
            anneal.Commit();
        }
        var result = docs.Keys.Union(weights.Keys).Order(StringComparer.Ordinal).Select(k => new DomainCounts(k, docs.GetValueOrDefault(k), bytes.GetValueOrDefault(k),
            tokens.GetValueOrDefault(k), weights.GetValueOrDefault(k), rate.GetValueOrDefault(k), docsOut.GetValueOrDefault(k), tokensOut.GetValueOrDefault(k))).ToList();
        AtomicFiles.WriteAllText(Path.Combine(outDir, "mixture.json"), JsonSerializer.Serialize(new
        {
            tokens = o.CountTokens is null ? "estimated (UTF-8 bytes / 4)" : "tokenizer",
            upsample = o.AllowUpsample,
            domains = result.Select(c => new { domain = c.Domain, docs = c.Docs, bytes = c.Bytes, tokens = c.Tokens, weight = c.Weight, rate = c.Rate, docs_out = c.DocsOut, tokens_out = c.TokensOut }),
        }, new JsonSerializerOptions { WriteIndented = true }));
        return result;
    }

    // A uniform number in [0, 1) from the document id (stable across runs and machines).
    private static double Unit(string id) => (XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(id)) >> 11) * (1.0 / (1UL << 53));
}
