// Token shards: the byte layout checked against hand-built bytes, round trips for uint16 and uint32
// widths, and every kind of damage refused with the file named.
using System.Buffers.Binary;
using SharpLM.Training.Data;

namespace SharpLM.Training.Tests.Data;

public sealed class TokenShardTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-shard-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string Write(string dir, string name, int vocab, params int[][] docs)
    {
        string p = Path.Combine(dir, name);
        using var w = new TokenShardWriter(p, vocab);
        foreach (var d in docs) w.AddDocument(d);
        w.Complete();
        return p;
    }

    // FNV-1a-64 per 64-bit word, written out here independently of the library.
    private static ulong Fnv(IEnumerable<ulong> words)
    {
        ulong h = 0xcbf29ce484222325UL;
        foreach (var w in words) h = (h ^ w) * 0x100000001b3UL;
        return h;
    }

    [Fact]
    public void LayoutMatchesTheDocumentedBytes()
    {
        string p = Write(_dir, "a.bin", 10, [1, 2, 3], [4], [5, 6]);
        byte[] bin = File.ReadAllBytes(p), idx = File.ReadAllBytes(Path.ChangeExtension(p, ".idx"));
        ulong sum = Fnv([1, 2, 3, 4, 5, 6, 3, 4, 6]);

        var hb = new byte[64];
        "SLMTOKS\0"u8.CopyTo(hb);
        hb[8] = 1; hb[12] = 2; hb[16] = 6; hb[24] = 3; hb[32] = 10;
        BinaryPrimitives.WriteUInt64LittleEndian(hb.AsSpan(40), sum);
        Assert.Equal(hb.Concat(new byte[] { 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0 }).ToArray(), bin);

        var hi = new byte[64];
        "SLMIDX\0\0"u8.CopyTo(hi);
        hi[8] = 1; hi[16] = 3; hi[24] = 6;
        BinaryPrimitives.WriteUInt64LittleEndian(hi.AsSpan(32), sum);
        var ends = new byte[24];
        ends[0] = 3; ends[8] = 4; ends[16] = 6;
        Assert.Equal(hi.Concat(ends).ToArray(), idx);
    }

    [Theory]
    [InlineData(1000, 2)]
    [InlineData(65536, 2)]
    [InlineData(65537, 4)]
    [InlineData(200_000, 4)]
    public void RoundTripsAndPicksTheWidth(int vocab, int width)
    {
        var rng = new Random(vocab);
        var docs = Enumerable.Range(0, 20).Select(_ => Enumerable.Range(0, rng.Next(0, 50)).Select(_ => rng.Next(vocab)).ToArray()).ToArray();
        docs[3] = [vocab - 1, 0]; // extremes
        string p = Write(_dir, $"s{vocab}.bin", vocab, docs);
        using var s = TokenShard.Open(p);
        Assert.Equal(width, s.Width);
        Assert.Equal(vocab, s.VocabSize);
        Assert.Equal(docs.Length, s.DocumentCount);
        Assert.Equal(docs.Sum(d => d.Length), s.TokenCount);
        Assert.Equal(64 + s.TokenCount * width, new FileInfo(p).Length);
        for (int d = 0; d < docs.Length; d++)
        {
            long a = s.DocumentStart(d), e = s.DocumentEnd(d);
            var got = new int[e - a];
            s.CopyTokens(a, got);
            Assert.Equal(docs[d], got);
        }
        s.VerifyTokens();
    }

    [Fact]
    public void EmptyShardIsValid()
    {
        string p = Write(_dir, "empty.bin", 50257);
        using var s = TokenShard.Open(p);
        Assert.Equal((0L, 0L), (s.TokenCount, s.DocumentCount));
        s.VerifyTokens();
    }

    [Fact]
    public void WriterRejectsOutOfVocabularyAndCleansUpWhenAbandoned()
    {
        string p = Path.Combine(_dir, "bad.bin");
        using (var w = new TokenShardWriter(p, 100))
        {
            w.AddDocument([1, 2]);
            var e = Assert.Throws<ArgumentException>(() => w.AddDocument([5, 100]));
            Assert.Contains("token 100 at position 1 of document 1", e.Message);
        }
        Assert.Empty(Directory.GetFiles(_dir)); // nothing renamed into place, temporaries gone
    }

    private string Refused(string binPath)
    {
        var e = Assert.ThrowsAny<Exception>(() => TokenShard.Open(binPath).Dispose());
        Assert.True(e is InvalidDataException or FileNotFoundException, e.ToString());
        return e.Message;
    }

    [Fact]
    public void RefusesDamagedShards()
    {
        string p = Write(_dir, "d.bin", 1000, [1, 2, 3, 4], [5, 6]);
        string idx = Path.ChangeExtension(p, ".idx");
        byte[] bin = File.ReadAllBytes(p), ix = File.ReadAllBytes(idx);

        File.WriteAllBytes(p, bin[..^1]);
        var m = Refused(p);
        Assert.Contains(p, m); Assert.Contains("truncated", m);

        File.WriteAllBytes(p, bin[..30]);
        Assert.Contains("header alone", Refused(p));

        File.WriteAllBytes(p, bin.Concat(new byte[] { 0, 0 }).ToArray());
        Assert.Contains("trailing", Refused(p));

        var bad = (byte[])bin.Clone(); bad[0] = (byte)'X';
        File.WriteAllBytes(p, bad);
        Assert.Contains("magic", Refused(p));

        bad = (byte[])bin.Clone(); bad[12] = 3;
        File.WriteAllBytes(p, bad);
        Assert.Contains("'token width'", Refused(p));

        bad = (byte[])bin.Clone(); bad[8] = 9;
        File.WriteAllBytes(p, bad);
        Assert.Contains("version 9", Refused(p));
        File.WriteAllBytes(p, bin);

        var badIdx = (byte[])ix.Clone(); BinaryPrimitives.WriteUInt64LittleEndian(badIdx.AsSpan(64), 5); // ends 4, 6 → 5, 4: decreasing
        BinaryPrimitives.WriteUInt64LittleEndian(badIdx.AsSpan(72), 4);
        File.WriteAllBytes(idx, badIdx);
        m = Refused(p);
        Assert.Contains(idx, m); Assert.Contains("non-decreasing", m);

        File.WriteAllBytes(idx, ix[..^8]);
        Assert.Contains("truncated document index", Refused(p));

        File.Delete(idx);
        Assert.Contains(".idx", Refused(p));
    }

    [Fact]
    public void RefusesAnIndexFromAnotherShard()
    {
        string a = Write(_dir, "a.bin", 1000, [1, 2, 3], [4, 5]);
        string b = Write(_dir, "b.bin", 1000, [1, 2], [3, 4, 5]); // same counts, different document ends
        File.Copy(Path.ChangeExtension(b, ".idx"), Path.ChangeExtension(a, ".idx"), overwrite: true);
        Assert.Contains("does not belong", Refused(a));
    }

    [Fact]
    public void VerifyTokensCatchesChangedTokensAndOutOfRangeIds()
    {
        string p = Write(_dir, "v.bin", 1000, [10, 20, 30]);
        var bin = File.ReadAllBytes(p);
        bin[64 + 2] = 21; // token 1: 20 → 21
        File.WriteAllBytes(p, bin);
        using (var s = TokenShard.Open(p)) // header checks still pass…
            Assert.Contains("checksum mismatch", Assert.Throws<InvalidDataException>(s.VerifyTokens).Message); // …the deep check does not

        bin[64 + 2] = 20;
        BinaryPrimitives.WriteUInt16LittleEndian(bin.AsSpan(64 + 4), 1000); // token 2 = vocab size
        File.WriteAllBytes(p, bin);
        using (var s = TokenShard.Open(p))
            Assert.Contains("token 1000 at position 2", Assert.Throws<InvalidDataException>(s.VerifyTokens).Message);
    }
}

public sealed class WidenUInt16Tests
{
    [Fact]
    public void MatchesScalarForEveryValueAndTailLength()
    {
        var all = new ushort[65536 + 37];
        for (int i = 0; i < all.Length; i++) all[i] = (ushort)(i * 40503);
        for (int n = 0; n <= 40; n++)
        {
            var d = new int[n];
            TokenShard.WidenUInt16(all.AsSpan(3, n), d);
            for (int i = 0; i < n; i++) Assert.Equal(all[3 + i], d[i]);
        }
        var full = new int[all.Length];
        TokenShard.WidenUInt16(all, full);
        for (int i = 0; i < all.Length; i++) Assert.Equal(all[i], full[i]);
    }
}
