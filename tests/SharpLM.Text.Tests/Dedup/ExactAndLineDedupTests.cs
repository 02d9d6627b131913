// Exact dedup (64/128-bit, whitespace normalisation), cross-document line/paragraph dedup on hand-made
// documents, and union-find against a naive connected-components reference.
using SharpLM.Text.Data;
using SharpLM.Text.Data.Dedup;

namespace SharpLM.Text.Tests.Dedup;

public class ExactAndLineDedupTests
{
    private static string[] Kept(IDocumentFilter f, params string[] texts) =>
        texts.Select((t, i) => new Document { Id = $"d{i}", Text = t }).Where(d => f.Apply(d).Keep).Select(d => d.Id).ToArray();

    [Theory]
    [InlineData(64)]
    [InlineData(128)]
    public void ExactDedupKeepsFirstCopy(int bits)
    {
        var f = new ExactDedup(bits);
        Assert.Equal(["d0", "d1", "d3"], Kept(f, "hello world", "hello  world", "hello world", "Hello world", "hello  world"));
    }

    // Batches on several threads (hashes in parallel, sharded index filled in parallel) against a naive reference:
    // a dictionary from text (or URL) to the id of its first document, scanned in input order.
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void BatchesOnManyThreadsKeepTheFirstInInputOrder(int threads)
    {
        var rng = new Random(threads);
        var docs = Enumerable.Range(0, 3000).Select(i => new Document { Id = $"d{i}", Text = $"text {rng.Next(700)}", Url = rng.Next(5) == 0 ? null : $"https://site{rng.Next(40)}.org/p/{rng.Next(20)}" }).ToList();
        var firstText = new Dictionary<string, string>(); var firstUrl = new Dictionary<string, string>();
        var exact = new ExactDedup();
        var url = new UrlDedup();
        for (int start = 0; start < docs.Count;)
        {
            int n = Math.Min(docs.Count - start, 1 + rng.Next(600));
            var batch = docs.GetRange(start, n);
            var ve = new FilterVerdict[n]; var vu = new FilterVerdict[n];
            exact.ApplyBatch(batch, ve, threads);
            for (int i = 0; i < n; i++)
            {
                var d = batch[i];
                bool first = firstText.TryAdd(d.Text, d.Id);
                Assert.Equal(first, ve[i].Keep);
                if (!first) Assert.Equal(firstText[d.Text], d.Metadata["duplicate_of"]);
                d.Metadata.Clear();
            }
            url.ApplyBatch(batch, vu, threads);
            for (int i = 0; i < n; i++)
            {
                var d = batch[i];
                bool first = d.Url is null || firstUrl.TryAdd(d.Url, d.Id);
                Assert.Equal(first, vu[i].Keep);
                if (!first) Assert.Equal(firstUrl[d.Url!], d.Metadata["duplicate_of"]);
            }
            start += n;
        }
        Assert.Equal(firstText.Count, exact.Count);
    }

    [Fact]
    public void WhitespaceNormalisationMergesLayoutVariants()
    {
        var f = new ExactDedup(64, normalizeWhitespace: true);
        Assert.Equal(["d0", "d3"], Kept(f, "hello world\nbye", "  hello \t world\r\n\n bye ", "hello world bye", "hello worldbye"));
        Span<char> buf = stackalloc char[32];
        int n = TextHash.CollapseWhitespace("  a \t b\n\nc  ", buf);
        Assert.Equal("a b c", buf[..n].ToString());
    }

    [Fact]
    public void HashesDifferForDifferentTextAndWidths()
    {
        Assert.NotEqual(TextHash.Hash64("abc"), TextHash.Hash64("abd"));
        var h128 = TextHash.Hash128("abc");
        Assert.NotEqual(0UL, (ulong)(h128 >> 64));
        Assert.Equal(TextHash.Hash("abc", 64, false), (UInt128)TextHash.Hash64("abc"));
    }

    private static readonly string[] Pages =
    [
        "Home | News | Contact\nCats sleep sixteen hours a day.\nThey hunt at dawn.\nCopyright 2024 Example Inc.",
        "Home | News | Contact\nDogs were domesticated long ago.\n\nThey hunt at dawn.\nCopyright 2024 Example Inc.",
        "Home  |  News | Contact   \nParrots can mimic speech.\nCopyright 2024 Example Inc.\n",
        "Home | News | Contact\nCopyright 2024 Example Inc.",
        "A page of its own.\nThey hunt at dawn.",
    ];

    [Fact]
    public void LineDedupRemovesLinesInAtLeastNDocuments()
    {
        var f = new LineDedup(minDocuments: 3, widthLog2: 16);
        foreach (var p in Pages) f.Observe(p);
        // Hand count: the menu is in 4 documents (whitespace variants collapse), the copyright in 4,
        // "They hunt at dawn." in 3, everything else in 1.
        Assert.Equal(4, f.DocumentCount("Home | News | Contact"));
        Assert.Equal(4, f.DocumentCount("Copyright 2024 Example Inc."));
        Assert.Equal(3, f.DocumentCount("They hunt at dawn."));
        Assert.Equal(1, f.DocumentCount("Cats sleep sixteen hours a day."));
        Assert.Equal(0, f.DocumentCount("never seen"));

        var docs = Pages.Select((t, i) => new Document { Id = $"p{i}", Text = t }).ToArray();
        var verdicts = docs.Select(f.Apply).ToArray();
        Assert.Equal("Cats sleep sixteen hours a day.", docs[0].Text);
        Assert.Equal("Dogs were domesticated long ago.", docs[1].Text);
        Assert.Equal("Parrots can mimic speech.", docs[2].Text);
        Assert.False(verdicts[3].Keep);
        Assert.Equal("boilerplate_only", verdicts[3].Reason);
        Assert.Equal("A page of its own.", docs[4].Text);
        Assert.Equal(3, docs[0].Metadata["boilerplate_lines_removed"]);
    }

    [Fact]
    public void LineDedupWithHigherThresholdKeepsLinesBelowIt()
    {
        var f = new LineDedup(minDocuments: 4, widthLog2: 16);
        foreach (var p in Pages) f.Observe(p);
        var d = new Document { Id = "x", Text = Pages[4] };
        Assert.True(f.Apply(d).Keep);
        Assert.Equal(Pages[4], d.Text); // "They hunt at dawn." is in 3 < 4 documents
        var d0 = new Document { Id = "y", Text = Pages[0] };
        f.Apply(d0);
        Assert.Equal("Cats sleep sixteen hours a day.\nThey hunt at dawn.", d0.Text);
    }

    [Fact]
    public void RepeatedLineInsideOneDocumentCountsOnce()
    {
        var f = new LineDedup(minDocuments: 2, widthLog2: 16);
        f.Observe("same\nsame\nsame");
        f.Observe("other");
        Assert.Equal(1, f.DocumentCount("same"));
    }

    [Fact]
    public void ParagraphDedupRemovesSharedParagraphs()
    {
        string footer = "Subscribe to our newsletter\nfor weekly updates.";
        var texts = new[] { $"Alpha text here.\n\n{footer}", $"Beta text\nspans two lines.\n\n{footer}", $"{footer}\n\nGamma." };
        var f = new LineDedup(minDocuments: 3, unit: BoilerplateUnit.Paragraph, widthLog2: 16);
        foreach (var t in texts) f.Observe(t);
        var docs = texts.Select((t, i) => new Document { Id = $"{i}", Text = t }).ToArray();
        foreach (var d in docs) Assert.True(f.Apply(d).Keep);
        Assert.Equal(["Alpha text here.", "Beta text\nspans two lines.", "Gamma."], docs.Select(d => d.Text).ToArray());
    }

    [Fact]
    public void SketchNeverUndercountsAndRarelyOvercounts()
    {
        // A deliberately small sketch (4 × 2^12 counters) fed ~2900 distinct lines (load 0.7 per counter): counts
        // are never below the truth (count-min guarantee), and with conservative update most stay exact.
        var f = new LineDedup(minDocuments: 2, widthLog2: 12);
        var rng = new Random(7);
        var truth = new Dictionary<string, int>();
        for (int d = 0; d < 300; d++)
        {
            var lines = Enumerable.Range(0, 10).Select(_ => $"line {rng.Next(3000)}").ToArray();
            foreach (var l in lines.Distinct()) truth[l] = truth.GetValueOrDefault(l) + 1;
            f.Observe(string.Join('\n', lines));
        }
        int exact = 0;
        foreach (var (line, c) in truth)
        {
            int est = f.DocumentCount(line);
            Assert.True(est >= c, $"{line}: estimate {est} < true {c}");
            if (est == c) exact++;
        }
        Assert.True(exact > 0.9 * truth.Count, $"only {exact}/{truth.Count} exact");
    }

    [Fact]
    public void UnionFindMatchesNaiveComponentsAndKeepsSmallestRoot()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 50; trial++)
        {
            int n = rng.Next(1, 60);
            var uf = new UnionFind(n);
            var label = Enumerable.Range(0, n).ToArray(); // naive: relabel whole component on each union
            for (int e = 0; e < rng.Next(0, 2 * n); e++)
            {
                int a = rng.Next(n), b = rng.Next(n);
                bool merged = uf.Union(a, b);
                int la = label[a], lb = label[b];
                Assert.Equal(la != lb, merged);
                int min = Math.Min(la, lb);
                for (int i = 0; i < n; i++) if (label[i] == la || label[i] == lb) label[i] = min;
            }
            for (int i = 0; i < n; i++)
            {
                int smallest = Enumerable.Range(0, n).First(j => label[j] == label[i]);
                Assert.Equal(smallest, uf.Find(i));
            }
        }
    }
}
