// Reading Hugging Face's own tokenizer.json: the files the Rust BpeTrainer wrote (GPT-2 ByteLevel pre-tokenizer,
// and a Sequence of a cl100k regex Split and ByteLevel), with an added special token, must encode the text set to
// the ids Hugging Face gave (fixtures from reference/tokenizer/make_fixtures.mjs).
using System.Text.Json;
using SharpLM.Text.Tokenization;

namespace SharpLM.Text.Tests.Tokenization;

public class HfTokenizerJsonTests
{
    [Theory]
    [InlineData("gpt2")]
    [InlineData("cl100k")]
    public void Hugging_Face_file_encodes_to_Hugging_Face_ids(string name)
    {
        var tok = TokenizerJson.Load(Path.Combine(Fixtures.Dir, $"hf_{name}.tokenizer.json.gz"));
        Assert.True(tok.SpecialTokens.ContainsKey("<|endoftext|>"));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Dir, $"hf_{name}.ids.json")));
        int n = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var text = c.GetProperty("text").GetString()!;
            var ids = c.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.Equal(ids, tok.Encode(text, ["<|endoftext|>"]));
            n++;
        }
        Assert.True(n >= 30);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("cl100k")]
    public void Our_rewrite_of_the_file_keeps_merges_and_ids(string name)
    {
        var tok = TokenizerJson.Load(Path.Combine(Fixtures.Dir, $"hf_{name}.tokenizer.json.gz"));
        using var ms = new MemoryStream();
        TokenizerJson.Write(tok, ms);
        var back = TokenizerJson.Parse(System.Text.Encoding.UTF8.GetString(ms.ToArray()));
        Assert.Equal(tok.Merges.ToArray(), back.Merges.ToArray());
        Assert.Equal(tok.SpecialTokens["<|endoftext|>"], back.SpecialTokens["<|endoftext|>"]);
        const string text = "Tokenizers split text into chunks, then merge bytes: 12345 — ünïcödé.";
        Assert.Equal(tok.EncodeOrdinary(text), back.EncodeOrdinary(text));
    }
}
