// Measures the pipeline's stages against the labelled synthetic crawl (SharpLM.Text.Data.Synthetic):
//  - extraction: word-level F1 of the extracted text against the page's clean main text (bag of lower-cased
//    words, micro-averaged over pages, and the mean per-page F1);
//  - language ID: accuracy per page on the extracted text, and per paragraph of 100+ characters of the clean text;
//  - PII: recall = share of the page's personal-data strings gone after redaction; false positives = placeholders
//    inserted into pages that had none;
//  - every filter on its own, run over the extracted pages: precision and recall of what it removes against
//    the labels it targets (language → non-English; quality rules and bad words → spam, keyword-stuffed and thin
//    pages; exact/URL dedup → exact duplicates), and the whole chain against "should keep".
using SharpLM.Text.Data.Extraction;
using SharpLM.Text.Data.LangId;
using SharpLM.Text.Data.Pii;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Quality;
using SharpLM.Text.Data.Synthetic;

namespace SharpLM.Text.Data.Evaluation;

/// <summary>Precision/recall of one filter against its target labels.</summary>
public sealed record FilterScore(string Filter, string Target, int Removed, int TruePositives, int Targets, int RemovedShouldGo = 0)
{
    /// <summary>Share of removed pages that should go for any reason (any label but PII).</summary>
    public double PrecisionAnyLabel => Removed == 0 ? 1 : (double)RemovedShouldGo / Removed;
    /// <summary>Share of removed pages that carry a target label (1 when nothing was removed).</summary>
    public double Precision => Removed == 0 ? 1 : (double)TruePositives / Removed;
    /// <summary>Share of target pages removed (1 when there are none).</summary>
    public double Recall => Targets == 0 ? 1 : (double)TruePositives / Targets;
}

/// <summary>All figures of one evaluation.</summary>
public sealed record CrawlEvalResult(
    int Pages, double ExtractionMicroF1, double ExtractionMeanF1, double LangIdPageAccuracy, int LangIdParagraphs,
    double LangIdParagraphAccuracy, int PiiStrings, double PiiRecall, int PiiFalsePositivePages, IReadOnlyList<FilterScore> Filters);

/// <summary>Runs the evaluation.</summary>
public static class CrawlEvaluation
{
    private const PageLabels QualityTargets = PageLabels.Spam | PageLabels.KeywordStuffed | PageLabels.LowQuality;

    /// <summary>Evaluates on <paramref name="pages"/> with the given chain (names from <paramref name="catalog"/>).</summary>
    public static CrawlEvalResult Run(IReadOnlyList<CrawlPage> pages, StepCatalog catalog, IReadOnlyList<string> filterNames)
    {
        var extractor = new HtmlExtractor();
        var extracted = new string[pages.Count];
        Parallel.For(0, pages.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => extracted[i] = new HtmlExtractor().Extract(pages[i].Html));
        _ = extractor;

        long overlap = 0, predicted = 0, gold = 0;
        double f1Sum = 0;
        for (int i = 0; i < pages.Count; i++)
        {
            var (o, p, g) = WordOverlap(extracted[i], pages[i].CleanText);
            overlap += o; predicted += p; gold += g;
            f1Sum += p + g == 0 ? 1 : 2.0 * o / (p + g);
        }
        double microF1 = predicted + gold == 0 ? 1 : 2.0 * overlap / (predicted + gold);

        var lid = LanguageIdModel.Default;
        int langOk = 0, paraN = 0, paraOk = 0;
        for (int i = 0; i < pages.Count; i++)
        {
            if (lid.PredictTop(extracted[i]).Label == pages[i].Language) langOk++;
            foreach (var para in pages[i].CleanText.Split("\n\n"))
            {
                if (para.Length < 100) continue;
                paraN++;
                if (lid.PredictTop(para).Label == pages[i].Language) paraOk++;
            }
        }

        var pii = new PiiRedactor();
        int piiTotal = 0, piiGone = 0, piiFalse = 0;
        for (int i = 0; i < pages.Count; i++)
        {
            var red = pii.Redact(extracted[i], out int n);
            if (pages[i].Pii.Count == 0) { if (n > 0) piiFalse++; continue; }
            foreach (var s in pages[i].Pii)
            {
                if (!extracted[i].Contains(s, StringComparison.Ordinal)) continue; // not in the extracted text at all
                piiTotal++;
                if (!red.Contains(s, StringComparison.Ordinal)) piiGone++;
            }
        }

        var scores = new List<FilterScore>();
        foreach (var name in filterNames)
        {
            var item = catalog.Create(name, null);
            if (item.Filter is null) continue;
            var (target, mask) = TargetOf(name);
            int removed = 0, tp = 0, targets = 0, shouldGo = 0;
            for (int i = 0; i < pages.Count; i++)
            {
                bool isTarget = (pages[i].Labels & mask) != 0;
                if (isTarget) targets++;
                var d = new Document { Id = pages[i].Id, Text = extracted[i], Url = pages[i].Url };
                if (!item.Filter.Apply(d).Keep)
                {
                    removed++;
                    if (isTarget) tp++;
                    if (!pages[i].ShouldKeep) shouldGo++;
                }
            }
            scores.Add(new FilterScore(name, target, removed, tp, targets, shouldGo));
        }
        // The whole chain, in order, against "should keep".
        {
            var chain = filterNames.Select(n => catalog.Create(n, null).Filter).OfType<IDocumentFilter>().ToList();
            int removed = 0, tp = 0, targets = 0;
            for (int i = 0; i < pages.Count; i++)
            {
                bool isTarget = !pages[i].ShouldKeep;
                if (isTarget) targets++;
                var d = new Document { Id = pages[i].Id, Text = extracted[i], Url = pages[i].Url };
                bool keep = true;
                foreach (var f in chain) if (!f.Apply(d).Keep) { keep = false; break; }
                if (!keep) { removed++; if (isTarget) tp++; }
            }
            scores.Add(new FilterScore("whole chain", "any label but PII", removed, tp, targets, tp));
        }
        return new CrawlEvalResult(pages.Count, microF1, f1Sum / Math.Max(1, pages.Count), (double)langOk / Math.Max(1, pages.Count), paraN,
            (double)paraOk / Math.Max(1, paraN), piiTotal, piiTotal == 0 ? 1 : (double)piiGone / piiTotal, piiFalse, scores);
    }

    private static (string, PageLabels) TargetOf(string filter) => filter switch
    {
        "langid" => ("non-English", PageLabels.NonEnglish),
        "exact_dedup" or "url_dedup" => ("exact duplicates", PageLabels.ExactDuplicate),
        "minhash_dedup" or "near_dedup" => ("exact+near duplicates", PageLabels.ExactDuplicate | PageLabels.NearDuplicate),
        _ => ("spam, keyword-stuffed, thin", QualityTargets),
    };

    /// <summary>(common words, words in <paramref name="predicted"/>, words in <paramref name="gold"/>) as bags of lower-cased words.</summary>
    public static (int Overlap, int Predicted, int Gold) WordOverlap(string predicted, string gold)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var g = Words.SplitToStrings(gold.ToLowerInvariant());
        foreach (var w in g) counts[w] = counts.GetValueOrDefault(w) + 1;
        var p = Words.SplitToStrings(predicted.ToLowerInvariant());
        int overlap = 0;
        foreach (var w in p)
        {
            if (counts.TryGetValue(w, out int c) && c > 0) { overlap++; counts[w] = c - 1; }
        }
        return (overlap, p.Count, g.Count);
    }
}
