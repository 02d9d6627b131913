// The stages against the labelled synthetic crawl: extraction word F1 ≥ 0.9 against the pages' clean text,
// language ID ≥ 97% on paragraphs of 100+ characters, PII recall ≥ 0.99 — the targets — and the word-F1
// helper on a hand-worked case.
using SharpLM.Text.Data.Evaluation;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Synthetic;

namespace SharpLM.Text.Tests.Data;

public class CrawlEvaluationTests
{
    [Fact]
    public void WordOverlap_BagOfWords()
    {
        // predicted: the cat the dog (4), gold: the cat sat (3): overlap "the", "cat" = 2 → F1 = 4/7.
        Assert.Equal((2, 4, 3), CrawlEvaluation.WordOverlap("The cat, the dog.", "the cat sat"));
    }

    [Fact]
    public void SyntheticCrawl_MeetsExtractionLangIdAndPiiTargets()
    {
        var pages = new CrawlGenerator(new CrawlOptions(300, 7)).Pages().ToList();
        var r = CrawlEvaluation.Run(pages, StepCatalog.Default(), ["langid", "c4", "fineweb"]);
        Assert.True(r.ExtractionMicroF1 >= 0.9, $"extraction F1 {r.ExtractionMicroF1}");
        Assert.True(r.LangIdParagraphs > 100);
        Assert.True(r.LangIdParagraphAccuracy >= 0.97, $"langid {r.LangIdParagraphAccuracy}");
        Assert.True(r.PiiStrings > 10);
        Assert.True(r.PiiRecall >= 0.99, $"PII recall {r.PiiRecall}");
        Assert.Equal(0, r.PiiFalsePositivePages);
        var langid = r.Filters.Single(f => f.Filter == "langid");
        Assert.Equal(1.0, langid.Recall); // every non-English page is removed
        Assert.Equal(4, r.Filters.Count);
    }
}
