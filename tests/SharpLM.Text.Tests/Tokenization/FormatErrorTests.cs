// Malformed tokenizer.json and rank files get errors that name the field (or line) and what was expected;
// the incremental decoder is checked on hand-worked byte splits.
using System.Text;
using System.Text.Json.Nodes;
using SharpLM.Text.Tokenization;

namespace SharpLM.Text.Tests.Tokenization;

public class FormatErrorTests
{
    private static readonly Lazy<string> Good = new(() =>
    {
        var tok = BpeTokenizer.Train(["hello hello world, hello there"], 270, ["<|eos|>"], minFrequency: 1);
        using var ms = new MemoryStream();
        TokenizerJson.Write(tok, ms);
        return Encoding.UTF8.GetString(ms.ToArray());
    });

    private static string Mutate(Action<JsonObject> change)
    {
        var root = JsonNode.Parse(Good.Value)!.AsObject();
        change(root);
        return root.ToJsonString();
    }

    public static TheoryData<string, string> Broken()
    {
        var d = new TheoryData<string, string>
        {
            { Mutate(r => r.Remove("model")), "'model'" },
            { Mutate(r => r["model"]!["type"] = "WordPiece"), "'model.type'" },
            { Mutate(r => r["model"]!.AsObject().Remove("vocab")), "'model.vocab'" },
            { Mutate(r => r["model"]!["vocab"]!["h"] = -1), "'model.vocab[\"h\"]'" },
            { Mutate(r => r["model"]!["vocab"]!["h"] = "x"), "'model.vocab[\"h\"]'" },
            { Mutate(r => r["model"]!["merges"] = 5), "'model.merges'" },
            { Mutate(r => r["model"]!["merges"]!.AsArray().Add("h zzz")), "'model.merges[" },
            { Mutate(r => r["model"]!["merges"]!.AsArray().Insert(0, "nospace")), "'model.merges[0]'" },
            { Mutate(r => r["normalizer"] = new JsonObject { ["type"] = "NFC" }), "'normalizer'" },
            { Mutate(r => r.Remove("pre_tokenizer")), "'pre_tokenizer'" },
            { Mutate(r => r["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" }), "'pre_tokenizer.type'" },
            { Mutate(r => r["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"] = new JsonObject { ["Regex"] = "(?<!" }), "'pre_tokenizer.pretokenizers[0].pattern.Regex'" },
            { Mutate(r => r["added_tokens"]![0]!.AsObject().Remove("content")), "'added_tokens[0]'" },
            { "{\"model\": ", "not valid JSON" },
            { "[1, 2]", "'$'" },
        };
        return d;
    }

    [Theory]
    [MemberData(nameof(Broken))]
    public void Malformed_tokenizer_json_names_the_field(string json, string field)
    {
        var e = Assert.Throws<InvalidDataException>(() => TokenizerJson.Parse(json, "broken.json"));
        Assert.StartsWith("broken.json", e.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void The_unbroken_file_loads()
    {
        var tok = TokenizerJson.Parse(Good.Value);
        Assert.Equal(270, tok.VocabSize);
        Assert.Equal(269, tok.SpecialTokens["<|eos|>"]);
    }

    [Fact]
    public void Malformed_rank_file_names_the_line()
    {
        var p = Path.GetTempFileName();
        try
        {
            File.WriteAllText(p, "IQ== 0\nIg== 1\nnot-base64! 2\n");
            var e = Assert.Throws<InvalidDataException>(() => TiktokenFile.ReadRanks(p));
            Assert.Contains(":3:", e.Message);
            File.WriteAllText(p, "IQ== 0\nIg==\n");
            e = Assert.Throws<InvalidDataException>(() => TiktokenFile.ReadRanks(p));
            Assert.Contains(":2:", e.Message);
            File.WriteAllText(p, "IQ== 0\nIg== 0\n");
            e = Assert.Throws<InvalidDataException>(() => TiktokenFile.ReadRanks(p));
            Assert.Contains("rank 0 appears twice", e.Message);
        }
        finally { File.Delete(p); }
    }

    [Fact]
    public void Stream_decoder_holds_partial_characters()
    {
        var tok = Fixtures.Encoding("cl100k_base");
        int B(byte b) => tok.TokenToId([b]);
        var dec = tok.CreateStreamDecoder();
        // "é" = C3 A9, "🎉" = F0 9F 8E 89, fed one byte token at a time
        Assert.Equal("a", dec.Add(B(0x61)));
        Assert.Equal("", dec.Add(B(0xC3)));
        Assert.Equal("é", dec.Add(B(0xA9)));
        Assert.Equal("", dec.Add(B(0xF0)));
        Assert.Equal("", dec.Add(B(0x9F)));
        Assert.Equal("", dec.Add(B(0x8E)));
        Assert.Equal("🎉", dec.Add(B(0x89)));
        // an incomplete tail becomes U+FFFD at the end of the stream
        Assert.Equal("", dec.Add(B(0xE2)));
        Assert.Equal("\uFFFD", dec.Flush());
        // special tokens decode to their text
        Assert.Equal("<|endoftext|>", dec.Add(tok.SpecialTokens["<|endoftext|>"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => dec.Add(tok.VocabSize));
    }

    [Fact]
    public void Vocabulary_without_every_byte_drops_the_missing_bytes_as_Hugging_Face_does()
    {
        // the Hugging Face trainer keeps only bytes it saw; its file has no token for, e.g., 'Q' here
        var tok = TokenizerJson.Load(Path.Combine(Fixtures.Dir, "hf_gpt2.tokenizer.json.gz"));
        Assert.True(tok.MissingBytes > 0);
        var withAll = Fixtures.Encoding("gpt2");
        Assert.Equal(0, withAll.MissingBytes);
    }
}
