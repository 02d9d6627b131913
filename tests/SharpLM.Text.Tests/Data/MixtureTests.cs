// Domain mixture: rates worked by hand from token counts and weights, deterministic sampling, the anneal subset.
using SharpLM.Text.Data;
using SharpLM.Text.Data.Mixture;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Text.Tests.Data;

public class MixtureTests
{
    // 10 documents of domain a and 30 of domain b, each 40 bytes = (40+3)/4 = 10 estimated tokens:
    // a has 100 tokens, b 300.
    private static List<Document> Docs()
    {
        var list = new List<Document>();
        for (int i = 0; i < 40; i++)
        {
            var d = new Document { Id = $"doc{i:D2}", Text = new string((char)('a' + i % 26), 40) };
            d.Metadata["domain"] = i < 10 ? "a" : "b";
            if (i % 10 == 0) d.Metadata["quality_score"] = 0.95;
            list.Add(d);
        }
        return list;
    }

    [Fact]
    public void EqualWeights_NoUpsample_KeepsScarceDomainWhole()
    {
        using var dir = new TempDir();
        var docs = Docs();
        // T = min(100/0.5, 300/0.5) = 200: rate a = 0.5·200/100 = 1, rate b = 0.5·200/300 = 1/3.
        var r = DomainMixer.Run(() => docs, dir.Path, new MixOptions { Weights = new Dictionary<string, double> { ["a"] = 1, ["b"] = 1 }, AnnealMinScore = 0.9 });
        var a = r.Single(x => x.Domain == "a");
        var b = r.Single(x => x.Domain == "b");
        Assert.Equal((100L, 1.0, 10L, 100L), (a.Tokens, a.Rate, a.DocsOut, a.TokensOut));
        Assert.Equal(300, b.Tokens);
        Assert.Equal(1.0 / 3, b.Rate, 12);
        Assert.InRange(b.DocsOut, 4, 16); // Binomial(30, 1/3): mean 10
        var mixed = DocumentReaders.ReadFile(dir.File("mixed.jsonl.gz")).ToList();
        Assert.Equal(a.DocsOut + b.DocsOut, mixed.Count);
        Assert.Equal(["doc00", "doc10", "doc20", "doc30"], DocumentReaders.ReadFile(dir.File("anneal.jsonl.gz")).Select(d => d.Id));
        // Deterministic: a second run picks the same documents.
        using var dir2 = new TempDir();
        DomainMixer.Run(() => Docs(), dir2.Path, new MixOptions { Weights = new Dictionary<string, double> { ["a"] = 1, ["b"] = 1 } });
        Assert.Equal(mixed.Select(d => d.Id), DocumentReaders.ReadFile(dir2.File("mixed.jsonl.gz")).Select(d => d.Id));
    }

    [Fact]
    public void Upsample_RepeatsScarceDomain()
    {
        using var dir = new TempDir();
        // T = 400 (all tokens): rate a = 0.5·400/100 = 2 exactly → every a document twice.
        var r = DomainMixer.Run(() => Docs(), dir.Path, new MixOptions { Weights = new Dictionary<string, double> { ["a"] = 0.5, ["b"] = 0.5 }, AllowUpsample = true });
        Assert.Equal((2.0, 20L, 200L), (r.Single(x => x.Domain == "a").Rate, r.Single(x => x.Domain == "a").DocsOut, r.Single(x => x.Domain == "a").TokensOut));
    }
}
