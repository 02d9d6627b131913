// Precision and recall of deduplication against the labels of the synthetic crawl (Data/Synthetic): pages
// are generated with injected exact duplicates (the same main text on a mirror or another site) and near
// duplicates (the same text with a byline, a closing line, maybe a paragraph dropped), each labelled with
// the page it copies. The documents given to dedup are the pages' clean main text, so the figures measure
// deduplication alone, not extraction. Exact dedup runs first, MinHash-LSH on what is left (the order of
// `sharplm data dedup`). A removed page counts as a true positive when it is labelled a duplicate;
// recall is per label; near-duplicate recall is also reported for pairs whose exact shingle Jaccard with
// their source is ≥ 0.85 (the target bucket), and those exact Jaccards are summarised.
using SharpLM.Text.Data.Synthetic;

namespace SharpLM.Text.Data.Dedup;

/// <summary>Dedup quality on the labelled synthetic crawl.</summary>
public sealed record DedupEvalResult(
    int Pages, int ExactLabelled, int NearLabelled, int ExactRemoved, int NearRemoved, int Removed, int FalseRemoved,
    int NearHighJaccard, int NearHighJaccardRemoved, double NearJaccardMin, double NearJaccardMedian, int Clusters,
    IReadOnlyDictionary<string, int> FalseRemovedByKind, int JunkRemoved)
{
    /// <summary>Precision counting only removals of content pages: removed junk pages (spam, keyword-stuffed, thin
    /// pages — templated, so genuinely near-duplicates of each other, and dropped by the quality rules anyway)
    /// are left out of both numerator and denominator.</summary>
    public double PrecisionExcludingJunk => Removed - JunkRemoved == 0 ? 1 : (double)(Removed - FalseRemoved) / (Removed - JunkRemoved);

    /// <summary>Removed pages that are labelled duplicates ÷ removed pages.</summary>
    public double Precision => Removed == 0 ? 1 : (double)(Removed - FalseRemoved) / Removed;
    /// <summary>Exact-duplicate pages removed ÷ exact-duplicate pages.</summary>
    public double ExactRecall => ExactLabelled == 0 ? 1 : (double)ExactRemoved / ExactLabelled;
    /// <summary>Near-duplicate pages removed ÷ near-duplicate pages.</summary>
    public double NearRecall => NearLabelled == 0 ? 1 : (double)NearRemoved / NearLabelled;
    /// <summary>Near-duplicate recall on pages whose Jaccard with their source is ≥ 0.85.</summary>
    public double NearRecallHighJaccard => NearHighJaccard == 0 ? 1 : (double)NearHighJaccardRemoved / NearHighJaccard;
}

/// <summary>Runs exact + MinHash dedup over the synthetic crawl and scores it against the labels.</summary>
public static class DedupEval
{
    /// <summary>Generates <paramref name="pages"/> pages of seed <paramref name="seed"/> and scores dedup with <paramref name="options"/>.</summary>
    public static DedupEvalResult Run(int pages, long seed, MinHashOptions options, int threads = 0)
    {
        var gen = new CrawlGenerator(new CrawlOptions(pages, seed));
        var all = gen.Pages().ToList();
        var docs = all.Select(p => new Document { Id = p.Id, Text = p.CleanText, Url = p.Url }).ToList();
        var byId = new Dictionary<string, int>();
        for (int i = 0; i < all.Count; i++) byId[all[i].Id] = i;

        var removed = new bool[all.Count];
        var exact = new ExactDedup();
        var survivors = new List<Document>();
        for (int i = 0; i < docs.Count; i++)
        {
            if (exact.Apply(docs[i]).Keep) survivors.Add(docs[i]);
            else removed[i] = true;
        }
        var mh = MinHashDedup.Prepare(survivors, options, threads);
        foreach (var d in survivors) if (!mh.Apply(d).Keep) removed[byId[d.Id]] = true;

        int exactL = 0, nearL = 0, exactR = 0, nearR = 0, rem = 0, falseRem = 0, high = 0, highR = 0, junk = 0;
        var hasher = new MinHasher(options);
        var jac = new List<double>();
        var byKind = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < all.Count; i++)
        {
            var p = all[i];
            bool isExact = p.Labels.HasFlag(PageLabels.ExactDuplicate), isNear = p.Labels.HasFlag(PageLabels.NearDuplicate);
            if (removed[i])
            {
                rem++;
                if (!isExact && !isNear) { falseRem++; byKind[p.Kind] = byKind.GetValueOrDefault(p.Kind) + 1; }
                if ((p.Labels & (PageLabels.Spam | PageLabels.KeywordStuffed | PageLabels.LowQuality)) != 0) junk++;
            }
            if (isExact) { exactL++; if (removed[i]) exactR++; }
            if (isNear)
            {
                nearL++;
                if (removed[i]) nearR++;
                var a = hasher.ShingleSet(p.CleanText);
                var b = hasher.ShingleSet(all[byId[p.DuplicateOf!]].CleanText);
                int inter = a.Count(b.Contains);
                double j = (double)inter / (a.Count + b.Count - inter);
                jac.Add(j);
                if (j >= 0.85) { high++; if (removed[i]) highR++; }
            }
        }
        jac.Sort();
        return new DedupEvalResult(all.Count, exactL, nearL, exactR, nearR, rem, falseRem, high, highR,
            jac.Count > 0 ? jac[0] : double.NaN, jac.Count > 0 ? jac[jac.Count / 2] : double.NaN, mh.ClusterMembers().Count(), byKind, junk);
    }
}
