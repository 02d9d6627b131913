// Exact id agreement with tiktoken (npm @dqbd/tiktoken and js-tiktoken, cross-checked when the fixtures were
// made) for gpt2, cl100k_base and o200k_base on prose, code, many scripts, emoji, long whitespace and digit runs,
// special-token text and invalid UTF-8. The rank files are tiktoken's own; the .NET patterns use atomic groups
// where tiktoken's use possessive quantifiers, and these cases are the evidence that the two split alike.
using System.Text;
using SharpLM.Text.Tokenization;

namespace SharpLM.Text.Tests.Tokenization;

public class TiktokenAgreementTests
{
    public static TheoryData<string> Encodings => new() { "gpt2", "cl100k_base", "o200k_base" };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void EncodeOrdinary_matches_tiktoken_on_every_text(string encoding)
    {
        var tok = Fixtures.Encoding(encoding);
        var failures = new List<string>();
        int checkedCases = 0;
        foreach (var c in Fixtures.Cases(encoding))
        {
            if (c.Text is null) continue;
            checkedCases++;
            var ids = tok.EncodeOrdinary(c.Text);
            if (!ids.AsSpan().SequenceEqual(c.Ids))
                failures.Add($"{c.Name}: expected [{string.Join(",", c.Ids.Take(20))}…] got [{string.Join(",", ids.Take(20))}…]");
        }
        Assert.True(checkedCases >= 30, $"only {checkedCases} text cases in the fixture");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void EncodeBytes_matches_the_reference_on_invalid_utf8(string encoding)
    {
        var tok = Fixtures.Encoding(encoding);
        int n = 0;
        foreach (var c in Fixtures.Cases(encoding))
        {
            if (c.Bytes is null) continue;
            n++;
            Assert.Throws<DecoderFallbackException>(() => new UTF8Encoding(false, true).GetString(c.Bytes));
            Assert.Equal(c.Ids, tok.EncodeBytes(c.Bytes));
            Assert.Equal(c.Bytes, tok.Decode(c.Ids));
        }
        Assert.True(n >= 5);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Valid_text_through_EncodeBytes_equals_EncodeOrdinary(string encoding)
    {
        var tok = Fixtures.Encoding(encoding);
        foreach (var c in Fixtures.Cases(encoding))
            if (c.Text is not null)
                Assert.Equal(c.Ids, tok.EncodeBytes(Encoding.UTF8.GetBytes(c.Text)));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Allowed_special_tokens_match_tiktoken(string encoding)
    {
        var tok = Fixtures.Encoding(encoding);
        var all = tok.SpecialTokens.Keys.ToArray();
        foreach (var c in Fixtures.Cases(encoding, "allow_all_special"))
            Assert.Equal(c.Ids, tok.Encode(c.Text!, all));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Special_token_text_is_refused_by_default_as_tiktoken_does(string encoding)
    {
        var tok = Fixtures.Encoding(encoding);
        var e = Assert.Throws<ArgumentException>(() => tok.Encode("x <|endoftext|> y"));
        Assert.Contains("<|endoftext|>", e.Message);
        // ordinary encoding treats it as text: the same ids tiktoken's encode_ordinary gives (fixture case special_text)
        var c = Fixtures.Cases(encoding).Single(x => x.Name == "special_text");
        Assert.Equal(c.Ids, tok.EncodeOrdinary(c.Text!));
        Assert.DoesNotContain(tok.SpecialTokens["<|endoftext|>"], c.Ids);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Decode_of_reference_ids_gives_back_the_text(string encoding)
    {
        var tok = Fixtures.Encoding(encoding);
        foreach (var c in Fixtures.Cases(encoding))
            if (c.Text is not null)
                Assert.Equal(c.Text, tok.DecodeToString(c.Ids));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Batched_encode_equals_single_encode(string encoding)
    {
        var tok = Fixtures.Encoding(encoding);
        var cases = Fixtures.Cases(encoding).Where(c => c.Text is not null && !c.Text.Contains("<|")).ToList();
        var texts = Enumerable.Range(0, 8).SelectMany(_ => cases.Select(c => c.Text!)).ToArray();
        var batch = tok.EncodeBatch(texts, threads: 2);
        for (int i = 0; i < texts.Length; i++) Assert.Equal(cases[i % cases.Count].Ids, batch[i]);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Rank_file_round_trips_through_write_and_read(string encoding)
    {
        var tok = Fixtures.Encoding(encoding);
        var path = Path.Combine(Path.GetTempPath(), $"sharplm-{Guid.NewGuid():N}.tiktoken.gz");
        try
        {
            TiktokenFile.Save(tok, path);
            var back = TiktokenFile.Load(path, tok.Pattern, tok.SpecialTokens);
            var c = Fixtures.Cases(encoding).Single(x => x.Name == "prose");
            Assert.Equal(c.Ids, back.EncodeOrdinary(c.Text!));
            Assert.Equal(Fixtures.IdFile(encoding).GetProperty("vocab_ranks").GetInt32(), TiktokenFile.ReadRanks(path).Count(r => r is not null));
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void TokenizerJson_round_trip_keeps_the_ids(string encoding)
    {
        var tok = Fixtures.Encoding(encoding);
        using var ms = new MemoryStream();
        TokenizerJson.Write(tok, ms);
        var back = TokenizerJson.Parse(Encoding.UTF8.GetString(ms.ToArray()), encoding);
        foreach (var c in Fixtures.Cases(encoding))
            if (c.Text is not null) Assert.Equal(c.Ids, back.EncodeOrdinary(c.Text));
        Assert.Equal(tok.SpecialTokens.OrderBy(k => k.Value), back.SpecialTokens.OrderBy(k => k.Value));
    }

    [Fact]
    public void Bytes_per_token_table_sums_to_the_utf8_length()
    {
        var tok = Fixtures.Encoding("cl100k_base");
        foreach (var c in Fixtures.Cases("cl100k_base"))
        {
            var expected = c.Bytes?.Length ?? Encoding.UTF8.GetByteCount(c.Text!);
            Assert.Equal(expected, c.Ids.Sum(id => tok.BytesPerToken[id]));
        }
        Assert.Equal(0, tok.BytesPerToken[tok.SpecialTokens["<|endoftext|>"]]);
        Assert.All(Enumerable.Range(0, 100256), id => Assert.Equal(tok.TokenBytes(id)!.Length, tok.BytesPerToken[id]));
    }
}
