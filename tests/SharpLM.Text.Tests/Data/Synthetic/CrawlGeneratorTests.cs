// Tests of the synthetic crawl: determinism, label frequencies and invariants, truth of the questions
// in the world, absence of the question wordings from every page, and a WARC read back by an
// independent minimal parser.
using System.IO.Compression;
using System.Net;
using System.Text;
using SharpLM.Text.Data.Synthetic;

namespace SharpLM.Text.Tests.Data.Synthetic;

public class CrawlGeneratorTests
{
    private static readonly List<CrawlPage> Crawl = new CrawlGenerator(new CrawlOptions(3000, 7)).Pages().ToList();

    [Fact]
    public void SameSeedSamePagesAndOtherSeedOtherPages()
    {
        var a = new CrawlGenerator(new CrawlOptions(400, 7)).Pages().ToList();
        var c = new CrawlGenerator(new CrawlOptions(400, 8)).Pages().ToList();
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(Crawl[i].Html, a[i].Html);
            Assert.Equal(Crawl[i].Labels, a[i].Labels);
            Assert.Equal(Crawl[i].Url, a[i].Url);
            Assert.Equal(Crawl[i].CleanText, a[i].CleanText);
        }
        Assert.True(a.Zip(c).Count(p => p.First.Html == p.Second.Html) < 5);
        // A page regenerated alone equals the page in the stream.
        var gen = new CrawlGenerator(new CrawlOptions(3000, 7));
        Assert.Equal(Crawl[2345].Html, gen.Page(2345).Html);
    }

    [Fact]
    public void FilesAreByteIdenticalAcrossRuns()
    {
        string d1 = Path.Combine(Path.GetTempPath(), "sharplm-crawl-" + Guid.NewGuid().ToString("N"));
        string d2 = Path.Combine(Path.GetTempPath(), "sharplm-crawl-" + Guid.NewGuid().ToString("N"));
        try
        {
            CrawlFiles.Write(d1, new CrawlOptions(200, 3));
            CrawlFiles.Write(d2, new CrawlOptions(200, 3));
            foreach (var f in new[] { CrawlFiles.WarcName, CrawlFiles.LabelsName, CrawlFiles.QuestionsName, CrawlFiles.WorldName })
                Assert.Equal(File.ReadAllBytes(Path.Combine(d1, f)), File.ReadAllBytes(Path.Combine(d2, f)));
        }
        finally
        {
            Directory.Delete(d1, true);
            Directory.Delete(d2, true);
        }
    }

    [Theory]
    [InlineData(PageLabels.ExactDuplicate, 0.06)]
    [InlineData(PageLabels.NearDuplicate, 0.06)]
    [InlineData(PageLabels.Spam, 0.05)]
    [InlineData(PageLabels.KeywordStuffed, 0.04)]
    [InlineData(PageLabels.LowQuality, 0.05)]
    [InlineData(PageLabels.NonEnglish, 0.10)]
    public void LabelFrequenciesMatchTheOptions(PageLabels label, double p)
    {
        int n = Crawl.Count, k = Crawl.Count(x => x.Labels.HasFlag(label));
        // Binomial(n, p) within 4.5 standard deviations; duplicates of page 0 fall back to clean, so allow a little less.
        double sd = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(k, n * p - 4.5 * sd - 5, n * p + 4.5 * sd);
    }

    [Fact]
    public void PiiRateIsAmongGoodPagesAndValuesArePresent()
    {
        var english = Crawl.Where(x => x.Kind is not ("spam" or "keyword_stuffed" or "low_quality" or "foreign") && x.DuplicateOf is null).ToList();
        double rate = english.Count(x => x.Labels.HasFlag(PageLabels.Pii)) / (double)english.Count;
        Assert.InRange(rate, 0.10, 0.20);
        foreach (var page in Crawl)
        {
            Assert.Equal(page.Pii.Count > 0, page.Labels.HasFlag(PageLabels.Pii));
            foreach (var v in page.Pii)
            {
                Assert.Contains(v, page.CleanText);
                Assert.Contains(WebUtility.HtmlEncode(v), page.Html);
            }
        }
    }

    [Fact]
    public void DuplicatesPointToEarlierKeptPages()
    {
        var byId = Crawl.ToDictionary(p => p.Id);
        int exact = 0, near = 0;
        var jaccards = new List<double>();
        foreach (var page in Crawl.Where(p => p.DuplicateOf != null))
        {
            var orig = byId[page.DuplicateOf!];
            Assert.True(string.CompareOrdinal(orig.Id, page.Id) < 0);
            Assert.True(orig.ShouldKeep);
            Assert.NotEqual(orig.Url, page.Url);
            if (page.Labels.HasFlag(PageLabels.ExactDuplicate))
            {
                exact++;
                Assert.Equal(orig.CleanText, page.CleanText);
            }
            else
            {
                near++;
                Assert.True(page.Labels.HasFlag(PageLabels.NearDuplicate));
                Assert.NotEqual(orig.CleanText, page.CleanText);
                jaccards.Add(Jaccard(Shingles(orig.CleanText), Shingles(page.CleanText)));
            }
        }
        Assert.True(exact > 100 && near > 100);
        // Near duplicates are near in the sense MinHash dedup uses (word 5-gram Jaccard, threshold ~0.75).
        jaccards.Sort();
        Assert.True(jaccards[0] >= 0.5, $"min Jaccard {jaccards[0]:F3}");
        Assert.True(jaccards[jaccards.Count / 10] >= 0.7, $"10th percentile Jaccard {jaccards[jaccards.Count / 10]:F3}");
        Assert.Equal(Crawl.Count, Crawl.Select(p => p.Url).Distinct().Count());
    }

    [Fact]
    public void CleanTextIsTheContentOfTheHtml()
    {
        foreach (var page in Crawl.Take(500))
        {
            foreach (var para in page.CleanText.Split("\n\n"))
                Assert.Contains(WebUtility.HtmlEncode(para), page.Html);
            Assert.Contains($"<html lang=\"{page.Language}\">", page.Html);
            // Boilerplate is present in the HTML but not in the clean text.
            Assert.Contains("cookie", page.Html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("cookie", page.CleanText, StringComparison.OrdinalIgnoreCase);
        }
        Assert.All(Crawl.Where(p => p.Labels.HasFlag(PageLabels.NonEnglish)), p => Assert.NotEqual("en", p.Language));
        Assert.All(Crawl.Where(p => !p.Labels.HasFlag(PageLabels.NonEnglish)), p => Assert.Equal("en", p.Language));
    }

    [Fact]
    public void GoodPagesPassGopherWordRules()
    {
        // Rae et al. 2021 (Gopher), appendix A: 50+ words, mean word length 3..10, 80% of words with a letter,
        // at least two of the stop words. Real quality filters apply these; the good pages must survive them.
        string[] stop = ["the", "be", "to", "of", "and", "that", "have", "with"];
        foreach (var page in Crawl.Where(p => p.ShouldKeep))
        {
            var words = page.CleanText.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            Assert.True(words.Length >= 50, $"{page.Id} ({page.Kind}): {words.Length} words");
            double mean = words.Average(w => w.Length);
            Assert.InRange(mean, 3, 10);
            double alpha = words.Count(w => w.Any(char.IsLetter)) / (double)words.Length;
            Assert.True(alpha >= 0.8, $"{page.Id} ({page.Kind}): {alpha:F2} of words have a letter");
            var set = words.Select(w => w.Trim('.', ',', '!', '?', ':').ToLowerInvariant()).ToHashSet();
            Assert.True(stop.Count(set.Contains) >= 2, $"{page.Id} ({page.Kind}): fewer than two stop words");
        }
    }

    [Fact]
    public void GoodPagesPassTheRepetitionAndLineRules()
    {
        // The pipeline's Gopher repetition and FineWeb rules with their published defaults: almost every good page passes.
        var gopher = new SharpLM.Text.Data.Quality.GopherRepetitionFilter();
        var fineweb = new SharpLM.Text.Data.Quality.FineWebQualityFilter();
        var good = Crawl.Where(p => p.ShouldKeep).ToList();
        var failed = good.Where(p =>
        {
            var doc = new SharpLM.Text.Data.Document { Id = p.Id, Text = p.CleanText };
            return !gopher.Apply(doc).Keep || !fineweb.Apply(doc).Keep;
        }).Select(p => p.Kind).ToList();
        Assert.True(failed.Count <= good.Count / 100, $"{failed.Count} of {good.Count} good pages fail: {string.Join(", ", failed.GroupBy(k => k).Select(g => $"{g.Key} {g.Count()}"))}");
    }

    [Fact]
    public void QuestionsAreTrueInTheWorld()
    {
        var world = World.Create(7);
        var questions = QuestionSet.Create(world, 7);
        Assert.Equal(world.People.Count * 4 + world.Pets.Count * 2 + world.Countries.Count + world.Towns.Count + 100, questions.Count);
        foreach (var q in questions)
        {
            Assert.Equal(4, q.Choices.Count);
            Assert.Equal(4, q.Choices.Distinct().Count());
            string gold = q.Choices[q.Gold];
            string truth = q.Kind switch
            {
                "residence" => world.PersonNamed(q.Subject).Town,
                "trade" => world.PersonNamed(q.Subject).Job,
                "colour" => world.PersonNamed(q.Subject).Colour,
                "count" => Lexicon.Number(world.PersonNamed(q.Subject).Count),
                "pet_species" => world.PetNamed(q.Subject).Species,
                "pet_owner" => world.PetNamed(q.Subject).Owner,
                "capital" => world.CountryNamed(q.Subject).Capital,
                "town_country" => world.TownNamed(q.Subject).Country,
                "addition" => (int.Parse(q.Subject.Split(',')[0]) + int.Parse(q.Subject.Split(',')[1])).ToString(),
                "subtraction" => (int.Parse(q.Subject.Split(',')[0]) - int.Parse(q.Subject.Split(',')[1])).ToString(),
                _ => throw new InvalidOperationException(q.Kind),
            };
            Assert.Equal(truth, gold);
            Assert.Contains(q.Subject.Split(',')[0], q.Question);
        }
        // Gold positions are spread over the four slots (a model cannot score by position).
        var byPos = questions.GroupBy(q => q.Gold).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(Enumerable.Range(0, 4), i => Assert.InRange(byPos.GetValueOrDefault(i), questions.Count / 8, questions.Count / 2));
    }

    [Fact]
    public void QuestionWordingsNeverOccurInTheCrawl()
    {
        var world = World.Create(7);
        var questions = QuestionSet.Create(world, 7);
        // No page, boilerplate included, contains a held-out frame, in any case.
        foreach (var page in Crawl)
        {
            string html = page.Html.ToLowerInvariant();
            foreach (var marker in QuestionSet.PhrasingMarkers) Assert.DoesNotContain(marker, html);
        }
        var corpus = string.Join("\n", Crawl.Select(p => p.CleanText));
        foreach (var q in questions) Assert.DoesNotContain(q.Question, corpus);
        // Every question opens with a marker, so the scan above covers every question and is not vacuous.
        Assert.All(questions, q => Assert.Contains(QuestionSet.PhrasingMarkers, m => q.Question.StartsWith(m, StringComparison.OrdinalIgnoreCase)));
        Assert.All(QuestionSet.PhrasingMarkers, m => Assert.Contains(questions, q => q.Question.StartsWith(m, StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public void QuestionWordsAllOccurOnKeptPages()
    {
        // New forms, known words: a held-out question has no word the model never trained on.
        var words = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in Crawl.Where(p => p.ShouldKeep)) words.UnionWith(Words(p.CleanText));
        var missing = QuestionSet.Create(World.Create(7), 7).SelectMany(q => Words(q.Question)).Where(w => !words.Contains(w)).Distinct().ToList();
        Assert.True(missing.Count == 0, "words of held-out questions never on a kept page: " + string.Join(", ", missing));

        static IEnumerable<string> Words(string text) =>
            System.Text.RegularExpressions.Regex.Matches(text.ToLowerInvariant(), "[a-z0-9']+").Select(m => m.Value);
    }

    [Fact]
    public void QuizPagesKeepEveryAnswerThroughTheC4LineRule()
    {
        // An answer line of fewer than three words is dropped by C4's line rule, which leaves questions without answers.
        var c4 = new SharpLM.Text.Data.Quality.C4QualityFilter();
        var quizzes = Crawl.Where(p => p.Kind == "quiz" && p.ShouldKeep).ToList();
        Assert.True(quizzes.Count > 100, $"only {quizzes.Count} quiz pages");
        foreach (var page in quizzes)
        {
            string text = page.CleanText.Replace("\n\n", "\n", StringComparison.Ordinal);
            Assert.Null(c4.Check(text, out string kept));
            var lines = kept.Split('\n');
            int questions = lines.Count(l => l.StartsWith("Question: ", StringComparison.Ordinal));
            Assert.True(questions >= 4, page.CleanText);
            Assert.Equal(questions, lines.Count(l => l.StartsWith("Answer: ", StringComparison.Ordinal)));
            // Each answer line follows its question line, as the held-out prompt "Question: …\nAnswer:" expects.
            for (int i = 0; i < lines.Length; i++)
                if (lines[i].StartsWith("Question: ", StringComparison.Ordinal)) Assert.StartsWith("Answer: ", lines[i + 1]);
        }
    }

    [Fact]
    public void QuizAnswersAreTrueAndEveryFactTypeHasSevenWordings()
    {
        var world = World.Create(7);
        var writer = new EnglishWriter(world);
        var rng = new SynthRng(5);
        var p = world.People[3];
        var t = world.TownNamed(p.Town);
        string[] truth = [p.Town, p.Job, p.Colour, Lexicon.Number(p.Count), world.PetNamed(p.PetName).Species, p.First, world.CountryNamed(t.Country).Capital, t.Country];
        for (int kind = 0; kind < 8; kind++)
        {
            var forms = new HashSet<string>(StringComparer.Ordinal);
            for (int f = 0; f < EnglishWriter.QuizWordings; f++)
            {
                var (q, a, why) = writer.QuizFact(p, kind, ref rng, f);
                Assert.Equal(truth[kind], a);
                Assert.Contains(a, why, StringComparison.OrdinalIgnoreCase);
                // The wording with the names taken out: a skeleton of its own.
                forms.Add(q.Replace(p.FullName, "N").Replace(p.First, "N"));
            }
            Assert.Equal(EnglishWriter.QuizWordings, forms.Count);
        }
    }

    [Fact]
    public void CrawlWordingAsksTheSameFactAsTheQuizPagesDo()
    {
        var world = World.Create(7);
        var corpus = string.Join("\n", Crawl.Where(p => p.ShouldKeep).Select(p => p.CleanText));
        var facts = QuestionSet.Create(world, 7).Where(q => q.Task == "facts").ToList();
        int onPages = 0;
        foreach (var q in facts)
        {
            string seen = QuestionSet.CrawlWording(world, q);
            Assert.NotEqual(q.Question, seen);
            Assert.DoesNotContain(QuestionSet.PhrasingMarkers, m => seen.Contains(m, StringComparison.OrdinalIgnoreCase));
            Assert.Contains(q.Subject, seen);
            if (corpus.Contains("Question: " + seen + "\n\nAnswer: " + q.Choices[q.Gold] + ".", StringComparison.Ordinal)) onPages++;
        }
        // Many occur verbatim, followed by the right answer, already on these 3,000 pages (a quarter of the quickstart's
        // crawl; each fact type has seven forms, and a quiz asks about three people).
        Assert.True(onPages > facts.Count / 4, $"{onPages} of {facts.Count}");
    }

    [Fact]
    public void EveryPersonFactIsStatedOnSomeKeptPage()
    {
        var world = World.Create(7);
        var kept = Crawl.Where(p => p.ShouldKeep).Select(p => p.CleanText).ToList();
        foreach (var person in world.People)
        {
            Assert.Contains(kept, t => t.Contains($"{person.First} lives in {person.Town}") || t.Contains($"home of {person.First} is in {person.Town}")
                                       || t.Contains($"{person.First} has a small house in {person.Town}"));
            Assert.Contains(kept, t => t.Contains(person.First) && t.Contains($"{person.Colour} is {person.His} favourite colour")
                                       || t.Contains($"{person.First} loves the colour {person.Colour}") || t.Contains($"{person.First}'s favourite colour is {person.Colour}"));
        }
    }

    [Fact]
    public void WarcReadsBackWithOneResponsePerPage()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sharplm-crawl-" + Guid.NewGuid().ToString("N"));
        try
        {
            var summary = CrawlFiles.Write(dir, new CrawlOptions(150, 11), htmlFolder: true);
            using var gz = new GZipStream(File.OpenRead(summary.WarcPath), CompressionMode.Decompress);
            using var ms = new MemoryStream();
            gz.CopyTo(ms);
            var records = ParseWarc(ms.ToArray());
            Assert.Equal(151, records.Count);
            Assert.Equal("warcinfo", records[0].Headers["WARC-Type"]);
            var labels = CrawlFiles.ReadLabels(summary.LabelsPath);
            var pages = new CrawlGenerator(new CrawlOptions(150, 11)).Pages().ToList();
            for (int i = 0; i < 150; i++)
            {
                var r = records[i + 1];
                Assert.Equal("response", r.Headers["WARC-Type"]);
                Assert.Equal(pages[i].Url, r.Headers["WARC-Target-URI"]);
                Assert.Equal(labels[i].WarcRecordId, r.Headers["WARC-Record-ID"]);
                string http = Encoding.UTF8.GetString(r.Block);
                int split = http.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                Assert.StartsWith("HTTP/1.1 200 OK", http);
                Assert.Equal(pages[i].Html, http[(split + 4)..]);
                Assert.Equal(pages[i].Html, File.ReadAllText(Path.Combine(dir, CrawlFiles.HtmlDir, pages[i].Id + ".html")));
                Assert.Equal(pages[i].Labels, labels[i].Labels);
                Assert.Equal(pages[i].CleanText, labels[i].CleanText);
                Assert.Equal(pages[i].DuplicateOf, labels[i].DuplicateOf);
            }
            var qs = CrawlFiles.ReadQuestions(summary.QuestionsPath);
            Assert.Equal(QuestionSet.Create(World.Create(11), 11).Select(q => q.Question), qs.Select(q => q.Question));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void BadLabelLineIsReportedWithItsLineNumber()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "{\"id\":\"q\",\"task\":\"facts\",\"question\":\"x\",\"choices\":[\"a\",\"b\"],\"gold\":1}\n{\"id\":\"q2\",\"task\":\"facts\",\"question\":\"x\",\"choices\":[\"a\"],\"gold\":3}\n");
            var e = Assert.Throws<InvalidDataException>(() => CrawlFiles.ReadQuestions(path));
            Assert.Contains(":2:", e.Message);
            Assert.Contains("gold", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed record WarcRecord(Dictionary<string, string> Headers, byte[] Block);

    // Minimal WARC 1.0 parser: version line, header lines to a blank line, Content-Length bytes, CRLF CRLF.
    private static List<WarcRecord> ParseWarc(byte[] data)
    {
        var list = new List<WarcRecord>();
        int pos = 0;
        while (pos < data.Length)
        {
            int end = IndexOf(data, "\r\n\r\n"u8.ToArray(), pos);
            var lines = Encoding.UTF8.GetString(data, pos, end - pos).Split("\r\n");
            Assert.Equal("WARC/1.0", lines[0]);
            var h = lines.Skip(1).Select(l => l.Split(": ", 2)).ToDictionary(kv => kv[0], kv => kv[1]);
            int len = int.Parse(h["Content-Length"]);
            var block = data.AsSpan(end + 4, len).ToArray();
            pos = end + 4 + len;
            Assert.Equal("\r\n\r\n", Encoding.ASCII.GetString(data, pos, 4));
            pos += 4;
            list.Add(new WarcRecord(h, block));
        }
        return list;
    }

    private static int IndexOf(byte[] data, byte[] pattern, int from) => data.AsSpan(from).IndexOf(pattern) + from;

    private static HashSet<string> Shingles(string text)
    {
        var w = text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var set = new HashSet<string>();
        for (int i = 0; i + 5 <= w.Length; i++) set.Add(string.Join(' ', w, i, 5));
        return set;
    }

    private static double Jaccard(HashSet<string> a, HashSet<string> b) => a.Intersect(b).Count() / (double)a.Union(b).Count();
}
