// ShardTools (behind `sharplm shards inspect|write`): text import and the inspection summary by hand.
using SharpLM.Training.Data;

namespace SharpLM.Training.Tests.Data;

public sealed class ShardToolsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-tools-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ImportsTextAndSummarises()
    {
        string txt = Path.Combine(_dir, "tokens.txt"), bin = Path.Combine(_dir, "train_000.bin");
        File.WriteAllText(txt, "50256 15496 11 995\n\n  50256 40 1101 257 1332 13 \n50256\t1 2 3\n");
        Assert.Equal((14L, 3L), ShardTools.ImportText(txt, bin, 50257));
        var s = ShardTools.Inspect(bin, firstTokens: 5, verify: true);
        Assert.Equal((2, 50257, 14L, 3L), (s.Width, s.VocabSize, s.Tokens, s.Documents));
        Assert.Equal((4L, 6L), (s.MinDocLength, s.MaxDocLength));
        Assert.Equal(14.0 / 3, s.MeanDocLength);
        Assert.Equal(new[] { 50256, 15496, 11, 995, 50256 }, s.FirstTokens);
        Assert.True(s.Verified);
        Assert.Equal(14, ShardTools.Inspect(bin, firstTokens: 100).FirstTokens.Length);
    }

    [Fact]
    public void BadTextNamesFileAndLine()
    {
        string txt = Path.Combine(_dir, "t.txt"), bin = Path.Combine(_dir, "x.bin");
        File.WriteAllText(txt, "1 2\n3 -4\n");
        var e = Assert.Throws<FormatException>(() => ShardTools.ImportText(txt, bin, 10));
        Assert.Contains("t.txt:2: '-4'", e.Message);
        File.WriteAllText(txt, "1 2\n3 10\n");
        Assert.Contains("t.txt:2: token 10", Assert.Throws<FormatException>(() => ShardTools.ImportText(txt, bin, 10)).Message);
        Assert.Equal(["t.txt"], Directory.GetFiles(_dir).Select(Path.GetFileName)); // no partial shard left
    }
}
