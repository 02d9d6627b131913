// `sharplm tokenizer …` run in-process: train writes files that load and agree with the library, encode and
// decode round-trip, encode of tiktoken's gpt2 ranks gives tiktoken's ids (fixture), stats counts match an
// independent count, bad input exits with 1, and every verb and option has help text.
using System.CommandLine;
using System.Text;
using System.Text.Json;
using SharpLM.Cli.Commands;
using SharpLM.Text.Tokenization;

namespace SharpLM.Cli.Tests.Commands;

public sealed class TokenizerCommandsTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizer");
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-cli-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out) Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(TokenizerCommands.Create());
        var output = new StringWriter();
        int code = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = new StringWriter() });
        return (code, output.ToString());
    }

    private string Path_(string name) => Path.Combine(_dir, name);

    [Fact]
    public void Train_writes_tokenizer_json_and_tiktoken_that_agree_with_the_library()
    {
        var corpus = Path.Combine(Fixtures, "train_corpus.txt");
        var (code, output) = Run("tokenizer", "train", "--input", corpus, "--vocab-size", "1200", "--out", _dir, "--special", "<|endoftext|>", "<|pad|>");
        Assert.Equal(0, code);
        Assert.Contains("merges", output);
        var fromJson = BpeTokenizer.Load(Path.Combine(_dir, "tokenizer.json"));
        var fromRanks = TiktokenFile.Load(Path.Combine(_dir, "tokenizer.tiktoken"), PreTokenizerPatterns.Gpt2);
        var direct = new BpeTrainer(new BpeTrainerOptions(1200, SpecialTokens: ["<|endoftext|>", "<|pad|>"])).TrainFiles([corpus]);
        Assert.Equal(1200, fromJson.VocabSize);
        Assert.Equal(1198, fromJson.SpecialTokens["<|endoftext|>"]);
        Assert.Equal(direct.Merges.ToArray(), fromJson.Merges.ToArray());
        foreach (var line in File.ReadLines(corpus).Take(200))
        {
            Assert.Equal(direct.EncodeOrdinary(line), fromJson.EncodeOrdinary(line));
            Assert.Equal(direct.EncodeOrdinary(line), fromRanks.EncodeOrdinary(line));
        }
    }

    [Fact]
    public void Train_on_a_jsonl_field()
    {
        var jsonl = Path_("docs.jsonl");
        File.WriteAllLines(jsonl, Enumerable.Range(0, 200).Select(i => JsonSerializer.Serialize(new { id = i, text = $"document number {i} says hello" })));
        var (code, _) = Run("tokenizer", "train", "-i", jsonl, "--jsonl-field", "text", "--vocab-size", "300", "-o", Path_("j"), "--special", "none");
        Assert.Equal(0, code);
        var tok = BpeTokenizer.Load(Path_("j"));
        Assert.Empty(tok.SpecialTokens);
        Assert.Single(tok.EncodeOrdinary(" hello"));
    }

    [Fact]
    public void Encode_with_tiktoken_gpt2_ranks_gives_tiktoken_ids_and_decode_gives_the_text()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "gpt2.ids.json")));
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray()
            .Where(c => c.TryGetProperty("text", out var t) && t.GetString() is { Length: > 0 } s && !s.Contains('\n') && !s.Contains('\r') && !s.Contains("<|"))
            .ToArray();
        Assert.True(cases.Length > 15);
        var input = Path_("in.txt");
        File.WriteAllText(input, string.Join("\n", cases.Select(c => c.GetProperty("text").GetString())) + "\n", new UTF8Encoding(false));
        var ranks = Path.Combine(Fixtures, "gpt2.tiktoken.gz");
        var (code, _) = Run("tokenizer", "encode", "-t", ranks, "--encoding", "gpt2", "-i", input, "-o", Path_("ids.txt"));
        Assert.Equal(0, code);
        var lines = File.ReadAllLines(Path_("ids.txt"));
        Assert.Equal(cases.Length, lines.Length);
        for (int i = 0; i < cases.Length; i++)
            Assert.Equal(string.Join(' ', cases[i].GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())), lines[i]);
        (code, _) = Run("tokenizer", "decode", "-t", ranks, "--encoding", "gpt2", "-i", Path_("ids.txt"), "-o", Path_("back.txt"));
        Assert.Equal(0, code);
        Assert.Equal(File.ReadAllText(input), File.ReadAllText(Path_("back.txt")));
    }

    [Fact]
    public void Encode_text_and_special_tokens()
    {
        var ranks = Path.Combine(Fixtures, "gpt2.tiktoken.gz");
        var (code, output) = Run("tokenizer", "encode", "-t", ranks, "--encoding", "gpt2", "--text", "Hello world");
        Assert.Equal(0, code);
        Assert.Equal("15496 995", output.Trim()); // tiktoken gpt2: "Hello" 15496, " world" 995
        (code, _) = Run("tokenizer", "encode", "-t", ranks, "--encoding", "gpt2", "--text", "a<|endoftext|>");
        Assert.Equal(1, code);
        (code, output) = Run("tokenizer", "encode", "-t", ranks, "--encoding", "gpt2", "--text", "a<|endoftext|>", "--allow-special", "all");
        Assert.Equal(0, code);
        Assert.Equal("64 50256", output.Trim());
        (code, output) = Run("tokenizer", "decode", "-t", ranks, "--encoding", "gpt2", "--ids", "15496,995 50256");
        Assert.Equal(0, code);
        Assert.Equal("Hello world<|endoftext|>", output.TrimEnd('\n', '\r'));
        (code, _) = Run("tokenizer", "decode", "-t", ranks, "--encoding", "gpt2", "--ids", "99999999");
        Assert.Equal(1, code);
        (code, _) = Run("tokenizer", "decode", "-t", ranks, "--encoding", "gpt2", "--ids", "12 abc");
        Assert.Equal(1, code);
    }

    [Fact]
    public void Stats_counts_match_an_independent_count()
    {
        var ranks = Path.Combine(Fixtures, "gpt2.tiktoken.gz");
        var input = Path_("s.txt");
        var lines = new[] { "Hello world", "Hello world", "naïve café" };
        File.WriteAllLines(input, lines);
        var (code, output) = Run("tokenizer", "stats", "-t", ranks, "--encoding", "gpt2", "-i", input);
        Assert.Equal(0, code);
        // "Hello world" = 2 tokens (15496 995); "naïve café" counted with the library on the same ranks
        var tok = TiktokenFile.LoadKnown(ranks, "gpt2");
        long tokens = 4 + tok.EncodeOrdinary("naïve café").Length;
        long bytes = lines.Sum(l => Encoding.UTF8.GetByteCount(l));
        long chars = lines.Sum(l => l.Length);
        Assert.Contains($"tokens         {tokens}", output);
        Assert.Contains($"bytes          {bytes}", output);
        Assert.Contains($"chars          {chars}", output);
        Assert.Contains($"bytes/token    {((double)bytes / tokens).ToString("F3", System.Globalization.CultureInfo.InvariantCulture)}", output);
        Assert.Contains("documents      3", output);
    }

    [Fact]
    public void Bad_input_exits_with_1()
    {
        var latin1 = Path_("latin1.txt");
        File.WriteAllBytes(latin1, [0x63, 0x61, 0x66, 0xE9, 0x0A]);
        Assert.Equal(1, Run("tokenizer", "train", "-i", latin1, "-o", Path_("x")).Code);
        var empty = Path_("empty.txt");
        File.WriteAllText(empty, "");
        Assert.Equal(1, Run("tokenizer", "train", "-i", empty, "-o", Path_("x")).Code);
        Assert.Equal(1, Run("tokenizer", "train", "-i", Path.Combine(Fixtures, "train_corpus.txt"), "-o", Path_("x"), "--vocab-size", "100").Code);
        var badJson = Path_("tokenizer.json");
        File.WriteAllText(badJson, "{\"model\": {\"type\": \"BPE\"}}");
        Assert.Equal(1, Run("tokenizer", "encode", "-t", badJson, "--text", "x").Code);
        Assert.Equal(1, Run("tokenizer", "encode", "-t", Path_("missing.json"), "--text", "x").Code);
    }

    [Fact]
    public void Every_verb_and_option_has_help()
    {
        var cmd = TokenizerCommands.Create();
        Assert.False(string.IsNullOrWhiteSpace(cmd.Description));
        Assert.Equal(["train", "encode", "decode", "stats"], cmd.Subcommands.Select(c => c.Name));
        foreach (var sub in cmd.Subcommands)
        {
            Assert.False(string.IsNullOrWhiteSpace(sub.Description), sub.Name);
            foreach (var o in sub.Options) Assert.False(string.IsNullOrWhiteSpace(o.Description), $"{sub.Name} {o.Name}");
            var (code, output) = Run("tokenizer", sub.Name, "--help");
            Assert.Equal(0, code);
            Assert.Contains("Usage:", output);
        }
    }
}
