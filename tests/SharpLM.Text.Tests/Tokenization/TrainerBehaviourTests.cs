// Trainer behaviour against hand-worked values and against itself under different inputs: the documented
// tie-break on a worked example, special tokens after the merges, JSONL input equal to in-memory documents,
// the cap on unique chunks keeping frequent chunks exact, document length cap, and clear errors for bad input.
using System.Text;
using SharpLM.Text.Tokenization;

namespace SharpLM.Text.Tests.Tokenization;

public sealed class TrainerBehaviourTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, text, new UTF8Encoding(false));
        return p;
    }

    private static string Str(BpeTokenizer t, int id) => Encoding.UTF8.GetString(t.TokenBytes(id)!);

    [Fact]
    public void Worked_example_merges_with_the_documented_tie_break()
    {
        // one chunk "aaabdaaabac": pairs aa:4 ab:2 bd:1 da:1 ba:1 ac:1 → merge a+a.
        // Then "aa a b d aa a b a c": (aa,a):2 and (a,b):2 tie; the smaller left id wins: base byte 'a' < new "aa".
        // Then "aa ab d aa ab a c": (aa,ab):2 is the only pair seen twice.
        var tok = new BpeTrainer(new BpeTrainerOptions(256 + 3, MinFrequency: 2, Pattern: @"\S+")).TrainTexts(["aaabdaaabac"]);
        var merges = tok.Merges.ToArray().Select(m => (Str(tok, m.A), Str(tok, m.B))).ToArray();
        Assert.Equal([("a", "a"), ("a", "b"), ("aa", "ab")], merges);
    }

    [Fact]
    public void Worked_example_encodes_with_the_learned_merges()
    {
        var tok = new BpeTrainer(new BpeTrainerOptions(256 + 3, MinFrequency: 2, Pattern: @"\S+")).TrainTexts(["aaabdaaabac"]);
        var pieces = tok.EncodeOrdinary("aaabdaaabac").Select(id => Str(tok, id)).ToArray();
        Assert.Equal(["aaab", "d", "aaab", "a", "c"], pieces);
    }

    [Fact]
    public void Merges_do_not_depend_on_thread_count_or_document_order()
    {
        var corpus = File.ReadLines(Path.Combine(Fixtures.Dir, "train_corpus.txt")).ToArray();
        var one = new BpeTrainer(new BpeTrainerOptions(1500, Threads: 1)).TrainTexts(corpus).Merges.ToArray();
        var two = new BpeTrainer(new BpeTrainerOptions(1500, Threads: 2)).TrainTexts(corpus).Merges.ToArray();
        var reversed = new BpeTrainer(new BpeTrainerOptions(1500, Threads: 2)).TrainTexts(corpus.Reverse()).Merges.ToArray();
        Assert.Equal(1500 - 256, one.Length);
        Assert.Equal(one, two);
        Assert.Equal(one, reversed);
    }

    [Fact]
    public void Min_frequency_stops_training()
    {
        var tok = new BpeTrainer(new BpeTrainerOptions(1000, MinFrequency: 3, Pattern: @"\S+")).TrainTexts(["aaabdaaabac"]);
        Assert.Single(tok.Merges.ToArray()); // only a+a is seen 3 or more times (4)
    }

    [Fact]
    public void Special_tokens_follow_the_merges_and_are_never_produced_by_merges()
    {
        var docs = Enumerable.Repeat("<|endoftext|> hello world <|user|> hi", 50).ToArray();
        var tok = BpeTokenizer.Train(docs, 1000, ["<|endoftext|>", "<|user|>"], minFrequency: 1);
        // the small corpus runs out of pairs before 1000; the specials take the two ids after the last merge
        int first = 256 + tok.Merges.Length;
        Assert.True(tok.Merges.Length > 10);
        Assert.Equal(first + 2, tok.VocabSize);
        Assert.Equal(first, tok.SpecialTokens["<|endoftext|>"]);
        Assert.Equal(first + 1, tok.SpecialTokens["<|user|>"]);
        foreach (var (_, _, m) in tok.Merges) Assert.True(m < first);
        var ordinary = tok.EncodeOrdinary("<|endoftext|>");
        Assert.DoesNotContain(first, ordinary);
        Assert.Equal("<|endoftext|>", tok.DecodeToString(ordinary));
        // refused by default, allowed when listed, and a listed set does not allow the others
        Assert.Throws<ArgumentException>(() => tok.Encode("a <|user|> b"));
        var ids = tok.Encode("a<|user|>b<|endoftext|>", ["<|user|>", "<|endoftext|>"]);
        Assert.Equal([.. tok.EncodeOrdinary("a"), first + 1, .. tok.EncodeOrdinary("b"), first], ids);
        var e = Assert.Throws<ArgumentException>(() => tok.Encode("a<|user|>b<|endoftext|>", ["<|user|>"]));
        Assert.Contains("<|endoftext|>", e.Message);
        Assert.Equal("a<|user|>b<|endoftext|>", tok.DecodeToString(ids));
        Assert.Equal(0, tok.BytesPerToken[first + 1]);
    }

    [Fact]
    public void Jsonl_text_field_trains_like_the_same_documents_in_memory()
    {
        var docs = new[] { "First document.\nIt has two lines.", "Second: code() { return 42; }", "Third — ünïcödé 日本語 🎉", "" };
        var sb = new StringBuilder();
        for (int i = 0; i < docs.Length; i++)
            sb.Append(System.Text.Json.JsonSerializer.Serialize(new { id = i, text = docs[i], source = "t" })).Append('\n');
        sb.Append('\n'); // blank lines are skipped
        var path = Write("docs.jsonl", sb.ToString());
        var opts = new BpeTrainerOptions(400, MinFrequency: 1);
        var fromFile = new BpeTrainer(opts).TrainFiles([path], jsonlField: "text");
        var fromMemory = new BpeTrainer(opts).TrainTexts(docs);
        Assert.Equal(fromMemory.Merges.ToArray(), fromFile.Merges.ToArray());
        Assert.True(fromFile.Merges.Length > 20);
    }

    [Fact]
    public void Jsonl_errors_name_the_file_line_and_field()
    {
        var bad = Write("bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": 5}\n");
        var e = Assert.Throws<InvalidDataException>(() => new BpeTrainer(new()).TrainFiles([bad], "text"));
        Assert.Contains("bad.jsonl:2", e.Message);
        Assert.Contains("\"text\"", e.Message);
        var missing = Write("missing.jsonl", "{\"body\": \"x\"}\n");
        e = Assert.Throws<InvalidDataException>(() => new BpeTrainer(new()).TrainFiles([missing], "text"));
        Assert.Contains("missing.jsonl:1", e.Message);
        var notJson = Write("notjson.jsonl", "{\"text\": \"ok\"}\n{oops\n");
        e = Assert.Throws<InvalidDataException>(() => new BpeTrainer(new()).TrainFiles([notJson], "text"));
        Assert.Contains("notjson.jsonl:2", e.Message);
    }

    [Fact]
    public void Invalid_utf8_file_is_refused_with_its_name_and_line()
    {
        var p = Path.Combine(_dir, "latin1.txt");
        File.WriteAllBytes(p, [.. "line one\nline two\ncaf"u8, 0xE9, .. "\n"u8]);
        var e = Assert.Throws<InvalidDataException>(() => new BpeTrainer(new()).TrainFiles([p]));
        Assert.Contains("latin1.txt", e.Message);
        Assert.Contains("UTF-8", e.Message);
        Assert.Contains("line 3", e.Message);
        Assert.Contains("byte offset 21", e.Message);
    }

    [Fact]
    public void Document_reader_gives_lines_or_a_jsonl_field_and_names_bad_lines()
    {
        var text = Write("plain.txt", "one\r\ntwo\n\nthree");
        Assert.Equal(["one", "two", "", "three"], TokenizerFiles.ReadDocuments(text));
        var jsonl = Write("d.jsonl", "{\"text\": \"a\"}\n\n{\"text\": null}\n{\"text\": \"b\\nc\"}\n");
        Assert.Equal(["a", "b\nc"], TokenizerFiles.ReadDocuments(jsonl, "text"));
        var p = Path.Combine(_dir, "bad.txt");
        File.WriteAllBytes(p, [.. "ok\nok\n"u8, 0xFF, .. "\n"u8]);
        var e = Assert.Throws<InvalidDataException>(() => TokenizerFiles.ReadDocuments(p).ToList());
        Assert.Contains("line 3", e.Message);
        Assert.Throws<FileNotFoundException>(() => TokenizerFiles.ReadDocuments(Path.Combine(_dir, "none.txt")));
    }

    [Fact]
    public void Empty_corpus_is_refused()
    {
        var p = Write("empty.txt", "");
        var e = Assert.Throws<InvalidDataException>(() => new BpeTrainer(new()).TrainFiles([p]));
        Assert.Contains("empty", e.Message);
        Assert.Contains("empty.txt", e.Message);
        Assert.Throws<InvalidDataException>(() => BpeTokenizer.Train([], 1000));
        Assert.Throws<InvalidDataException>(() => BpeTokenizer.Train(["", ""], 1000));
        Assert.Throws<FileNotFoundException>(() => new BpeTrainer(new()).TrainFiles([Path.Combine(_dir, "nope.txt")]));
    }

    [Fact]
    public void Vocabulary_smaller_than_bytes_plus_specials_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => BpeTokenizer.Train(["abc"], 257, ["<|a|>", "<|b|>"]));
        Assert.Contains("257", e.Message);
        Assert.Contains("258", e.Message);
        Assert.Throws<ArgumentException>(() => BpeTokenizer.Train(["abc"], 100));
        // exactly bytes + specials is allowed: no merges
        Assert.Empty(BpeTokenizer.Train(["abcabc"], 258, ["<|a|>", "<|b|>"]).Merges.ToArray());
    }

    [Fact]
    public void Unique_chunk_cap_prunes_rare_chunks_and_keeps_frequent_counts_exact()
    {
        // 40 frequent words in every document, and a flood of unique ones
        var rng = new Random(7);
        var frequent = Enumerable.Range(0, 40).Select(i => "w" + (char)('a' + i % 26) + (char)('a' + i / 26)).ToArray();
        var docs = new List<string>();
        for (int d = 0; d < 400; d++)
        {
            var sb = new StringBuilder();
            foreach (var w in frequent) sb.Append(' ').Append(w);
            for (int k = 0; k < 30; k++) sb.Append(" u").Append(rng.Next(0, 1_000_000_000));
            docs.Add(sb.ToString());
        }
        var exact = new BpeTrainer(new BpeTrainerOptions(MaxUniqueChunks: 1 << 20)).CountTexts(docs);
        var capped = new BpeTrainer(new BpeTrainerOptions(MaxUniqueChunks: 1024)).CountTexts(docs);
        Assert.True(exact.Unique > 10_000);
        Assert.True(capped.Unique <= 1024, $"{capped.Unique} unique chunks kept");
        Assert.True(capped.Pruned > 0);
        foreach (var w in frequent) Assert.Equal(exact.Counts[" " + w], capped.Counts[" " + w]);
    }

    [Fact]
    public void Long_documents_are_cut_at_the_cap()
    {
        var doc = string.Concat(Enumerable.Repeat("abc ", 1000));
        var counts = new BpeTrainer(new BpeTrainerOptions(MaxDocumentChars: 100)).CountTexts([doc]);
        Assert.Equal(100, counts.Bytes);
        Assert.Equal(26, counts.Total); // "abc", 24 × " abc", and the trailing " "

    }

    [Fact]
    public void Convenience_api_trains_saves_and_loads()
    {
        var corpus = File.ReadLines(Path.Combine(Fixtures.Dir, "train_corpus.txt")).ToArray();
        var tok = BpeTokenizer.Train(corpus, 1000, ["<|endoftext|>"]);
        Assert.Equal(1000, tok.VocabSize);
        var path = Path.Combine(_dir, "tokenizer.json");
        tok.Save(path);
        var back = BpeTokenizer.Load(path);
        Assert.Equal(tok.Merges.ToArray(), back.Merges.ToArray());
        const string text = "This License applies to any program or other work.";
        Assert.Equal(tok.Encode(text), back.Encode(text));
        Assert.True(tok.Encode(text).Length < Encoding.UTF8.GetByteCount(text) / 2);
    }
}
