// Dedup against the labels of the synthetic crawl (Data/Synthetic): injected exact duplicates must all go,
// near duplicates with shingle Jaccard ≥ 0.85 to their source must go (issue target: recall ≥ 0.95), and
// content pages that copy nothing must stay (precision over content pages ≥ 0.98).
using SharpLM.Text.Data.Dedup;

namespace SharpLM.Text.Tests.Dedup;

public class DedupEvalTests
{
    [Fact]
    public void ExactAndNearDuplicatesOfTheSyntheticCrawlAreFound()
    {
        var r = DedupEval.Run(pages: 1500, seed: 11, new MinHashOptions());
        Assert.True(r.ExactLabelled >= 50 && r.NearLabelled >= 50, $"{r.ExactLabelled} exact, {r.NearLabelled} near labelled");
        Assert.Equal(r.ExactLabelled, r.ExactRemoved);
        Assert.True(r.NearHighJaccard >= 20, $"only {r.NearHighJaccard} near duplicates with J ≥ 0.85");
        Assert.True(r.NearRecallHighJaccard >= 0.95, $"near-duplicate recall {r.NearRecallHighJaccard:F3} at J ≥ 0.85");
        Assert.True(r.PrecisionExcludingJunk >= 0.98, $"precision over content pages {r.PrecisionExcludingJunk:F3} ({r.FalseRemoved} unlabelled removed, {r.JunkRemoved} of them junk)");
    }
}
