// `sharplm tokenizer …`: train, encode, decode and inspect byte-level BPE tokenizers (SharpLM.Text.Tokenization).
// train writes a Hugging Face tokenizer.json and a tiktoken rank file; encode writes one line of ids per
// document (the input `sharplm shards write` takes); decode reverses it; stats measures a tokenizer on a file.
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpLM.Text.Tokenization;

namespace SharpLM.Cli.Commands;

internal static class TokenizerCommands
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var cmd = new Command("tokenizer", "Train, encode, decode and inspect byte-level BPE tokenizers (tokenizer.json and tiktoken formats).");
        cmd.Subcommands.Add(Train());
        cmd.Subcommands.Add(Encode());
        cmd.Subcommands.Add(Decode());
        cmd.Subcommands.Add(Stats());
        return cmd;
    }

    private static Option<string> TokenizerOption() => new("--tokenizer", "-t")
    {
        Description = "Tokenizer: a directory with tokenizer.json, a tokenizer.json, or a .tiktoken rank file (.gz allowed).",
        Required = true,
    };

    private static Option<string?> EncodingOption() => new("--encoding")
    {
        Description = "For a .tiktoken file: gpt2, cl100k_base or o200k_base, which fixes the pattern and special tokens (default: GPT-2 pattern, no specials).",
    };

    private static Option<string?> JsonlFieldOption(string what) => new("--jsonl-field")
    {
        Description = $"Read {what} as JSONL and take this string field of each line (e.g. text) as one document.",
    };

    private static Command Train()
    {
        var input = new Option<string[]>("--input", "-i")
        {
            Description = "Training text files (.gz allowed), read line by line; repeat or list several.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var vocab = new Option<int>("--vocab-size") { Description = "Vocabulary size: 256 byte tokens + merges + special tokens.", DefaultValueFactory = _ => 8192 };
        var output = new Option<string>("--out", "-o") { Description = "Output directory; gets tokenizer.json and tokenizer.tiktoken.", Required = true };
        var field = JsonlFieldOption("the input files");
        var pattern = new Option<string>("--pattern")
        {
            Description = "Pre-tokenizer: gpt2, cl100k or o200k, or a custom .NET regex (atomic groups, no possessive quantifiers).",
            DefaultValueFactory = _ => "gpt2",
        };
        var special = new Option<string[]>("--special")
        {
            Description = "Special tokens added after training, in order (default: <|endoftext|>). Pass --special none for none.",
            DefaultValueFactory = _ => ["<|endoftext|>"],
            AllowMultipleArgumentsPerToken = true,
        };
        var minFreq = new Option<int>("--min-frequency") { Description = "Pairs seen fewer times are never merged.", DefaultValueFactory = _ => 2 };
        var maxDoc = new Option<int>("--max-doc-chars") { Description = "Documents (lines) longer than this are cut before counting.", DefaultValueFactory = _ => 1 << 20 };
        var maxUnique = new Option<int>("--max-unique-chunks")
        {
            Description = "Memory cap: distinct pre-tokenizer chunks kept while counting; the rarest are pruned beyond it.",
            DefaultValueFactory = _ => 8 << 20,
        };
        var threads = new Option<int>("--threads") { Description = "Worker threads for counting (0 = one per core).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("train", "Train a byte-level BPE tokenizer on text or JSONL files; writes tokenizer.json and tokenizer.tiktoken.");
        foreach (var o in new Option[] { input, vocab, output, field, pattern, special, minFreq, maxDoc, maxUnique, threads }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var o = pr.InvocationConfiguration.Output;
            var specials = pr.GetValue(special)!.Where(s => !s.Equals("none", StringComparison.OrdinalIgnoreCase)).ToArray();
            var opts = new BpeTrainerOptions(pr.GetValue(vocab), pr.GetValue(minFreq), PreTokenizerPatterns.FromName(pr.GetValue(pattern)!),
                                             specials, pr.GetValue(maxDoc), pr.GetValue(threads), pr.GetValue(maxUnique));
            var trainer = new BpeTrainer(opts);
            var sw = Stopwatch.StartNew();
            var counts = trainer.CountFiles(pr.GetValue(input)!, pr.GetValue(field));
            double countSeconds = sw.Elapsed.TotalSeconds;
            var tok = trainer.Train(counts);
            double total = sw.Elapsed.TotalSeconds;
            var dir = pr.GetValue(output)!;
            Directory.CreateDirectory(dir);
            tok.Save(Path.Combine(dir, "tokenizer.json"));
            TiktokenFile.Save(tok, Path.Combine(dir, "tokenizer.tiktoken"));
            o.WriteLine($"counted {counts.Total.ToString("N0", Ci)} chunks ({counts.Unique.ToString("N0", Ci)} unique" +
                        (counts.Pruned > 0 ? $", {counts.Pruned.ToString("N0", Ci)} rare ones pruned" : "") +
                        $") in {(counts.Bytes / 1e6).ToString("F1", Ci)} MB, {countSeconds.ToString("F2", Ci)} s");
            o.WriteLine($"learned {tok.Merges.Length.ToString("N0", Ci)} merges in {(total - countSeconds).ToString("F2", Ci)} s; " +
                        $"vocabulary {tok.VocabSize.ToString("N0", Ci)} ({tok.SpecialTokens.Count} special)");
            if (tok.VocabSize < opts.VocabSize)
                o.WriteLine($"note: the corpus ran out of pairs seen {opts.MinFrequency}+ times before {opts.VocabSize.ToString("N0", Ci)}");
            o.WriteLine($"wrote {Path.Combine(dir, "tokenizer.json")} and {Path.Combine(dir, "tokenizer.tiktoken")}");
            return 0;
        }));
        return cmd;
    }

    private static Option<string[]> AllowSpecialOption() => new("--allow-special")
    {
        Description = "Special tokens to encode as their ids ('all' for every one). Without it, special-token text in the input is an error.",
        AllowMultipleArgumentsPerToken = true,
    };

    private static Option<bool> OrdinaryOption() => new("--ordinary") { Description = "Encode special-token text as ordinary text instead of refusing it." };

    private static IReadOnlyCollection<string>? Allowed(BpeTokenizer tok, string[]? allow) =>
        allow is null || allow.Length == 0 ? null
        : allow.Any(a => a.Equals("all", StringComparison.OrdinalIgnoreCase)) ? tok.SpecialTokens.Keys.ToHashSet(StringComparer.Ordinal)
        : Unknown(tok, allow) is { } bad ? throw new ArgumentException($"--allow-special: '{bad}' is not a special token of this tokenizer ({string.Join(", ", tok.SpecialTokens.Keys)})")
        : allow.ToHashSet(StringComparer.Ordinal);

    private static string? Unknown(BpeTokenizer tok, string[] allow) => allow.FirstOrDefault(a => !tok.SpecialTokens.ContainsKey(a));

    private static Command Encode()
    {
        var tokOpt = TokenizerOption();
        var enc = EncodingOption();
        var text = new Option<string?>("--text") { Description = "Text to encode (instead of --input)." };
        var input = new Option<string?>("--input", "-i") { Description = "File to encode: one document per line (or per JSONL line with --jsonl-field)." };
        var field = JsonlFieldOption("--input");
        var output = new Option<string?>("--out", "-o") { Description = "Write the ids here (default: standard output)." };
        var allow = AllowSpecialOption();
        var ordinary = OrdinaryOption();
        var threads = new Option<int>("--threads") { Description = "Worker threads for a file (0 = one per core).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("encode", "Encode text to token ids: one line of space-separated ids per document (the input of `sharplm shards write`).");
        foreach (var o in new Option[] { tokOpt, enc, text, input, field, output, allow, ordinary, threads }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var tok = TokenizerFiles.Load(pr.GetValue(tokOpt)!, pr.GetValue(enc));
            var allowed = Allowed(tok, pr.GetValue(allow));
            bool ord = pr.GetValue(ordinary);
            var t = pr.GetValue(text);
            var path = pr.GetValue(input);
            if ((t is null) == (path is null)) throw new ArgumentException("give exactly one of --text or --input");
            var docs = t is not null ? [t] : TokenizerFiles.ReadDocuments(path!, pr.GetValue(field));
            WriteOutput(pr.GetValue(output), pr.InvocationConfiguration.Output, w =>
            {
                var sb = new StringBuilder();
                foreach (var block in Blocks(docs))
                {
                    var ids = tok.EncodeBatch(block, allowed, pr.GetValue(threads), ordinary: ord);
                    foreach (var doc in ids)
                    {
                        sb.Clear();
                        for (int i = 0; i < doc.Length; i++) { if (i > 0) sb.Append(' '); sb.Append(doc[i]); }
                        w.WriteLine(sb);
                    }
                }
            });
            return 0;
        }));
        return cmd;
    }

    // Writes to the console, or to a temporary file renamed onto the path when the body completes.
    private static void WriteOutput(string? path, TextWriter console, Action<TextWriter> body)
    {
        if (path is null) { body(console); return; }
        var tmp = path + ".tmp";
        try
        {
            using (var w = new StreamWriter(tmp, false, new UTF8Encoding(false))) body(w);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    // Documents in blocks of about 16M chars, so a large file is encoded in parallel without being held whole.
    private static IEnumerable<List<string>> Blocks(IEnumerable<string> docs)
    {
        var block = new List<string>();
        long chars = 0;
        foreach (var d in docs)
        {
            block.Add(d);
            chars += d.Length;
            if (chars >= 16 << 20) { yield return block; block = []; chars = 0; }
        }
        if (block.Count > 0) yield return block;
    }

    private static Command Decode()
    {
        var tokOpt = TokenizerOption();
        var enc = EncodingOption();
        var ids = new Option<string?>("--ids") { Description = "Token ids to decode, separated by spaces or commas (instead of --input)." };
        var input = new Option<string?>("--input", "-i") { Description = "File of ids: one document per line, as `encode` writes." };
        var output = new Option<string?>("--out", "-o") { Description = "Write the text here (default: standard output)." };
        var cmd = new Command("decode", "Decode token ids to text (UTF-8; bytes that do not form valid UTF-8 become U+FFFD).");
        foreach (var o in new Option[] { tokOpt, enc, ids, input, output }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var tok = TokenizerFiles.Load(pr.GetValue(tokOpt)!, pr.GetValue(enc));
            var text = pr.GetValue(ids);
            var path = pr.GetValue(input);
            if ((text is null) == (path is null)) throw new ArgumentException("give exactly one of --ids or --input");
            var lines = text is not null ? [text] : File.ReadLines(path!);
            WriteOutput(pr.GetValue(output), pr.InvocationConfiguration.Output, w =>
            {
                long lineNo = 0;
                var list = new List<int>();
                foreach (var line in lines)
                {
                    lineNo++;
                    list.Clear();
                    foreach (var part in line.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (!int.TryParse(part, NumberStyles.Integer, Ci, out int id))
                            throw new FormatException($"{path ?? "--ids"}:{lineNo}: '{part}' is not a token id");
                        if ((uint)id >= (uint)tok.VocabSize || (tok.TokenBytes(id) is null && tok.SpecialText(id) is null))
                            throw new ArgumentException($"{path ?? "--ids"}:{lineNo}: token id {id} is not in the vocabulary (0..{tok.VocabSize - 1})");
                        list.Add(id);
                    }
                    w.WriteLine(tok.DecodeToString(list.ToArray()));
                }
            });
            return 0;
        }));
        return cmd;
    }

    /// <summary>What `tokenizer stats` measures on a file.</summary>
    internal sealed record TextStats(long Documents, long Chars, long Bytes, long Tokens, double Seconds)
    {
        public double CharsPerToken => Tokens == 0 ? 0 : (double)Chars / Tokens;
        public double BytesPerToken => Tokens == 0 ? 0 : (double)Bytes / Tokens;
    }

    internal static TextStats Measure(BpeTokenizer tok, IEnumerable<string> docs, int threads)
    {
        long nDocs = 0, chars = 0, bytes = 0, tokens = 0;
        double seconds = 0;
        foreach (var block in Blocks(docs))
        {
            var sw = Stopwatch.StartNew();
            var ids = tok.EncodeBatch(block, threads: threads, ordinary: true);
            seconds += sw.Elapsed.TotalSeconds;
            for (int i = 0; i < block.Count; i++)
            {
                nDocs++;
                chars += block[i].Length;
                bytes += Encoding.UTF8.GetByteCount(block[i]);
                tokens += ids[i].Length;
            }
        }
        return new TextStats(nDocs, chars, bytes, tokens, seconds);
    }

    private static Command Stats()
    {
        var tokOpt = TokenizerOption();
        var enc = EncodingOption();
        var input = new Option<string>("--input", "-i") { Description = "File to measure: one document per line (or JSONL with --jsonl-field).", Required = true };
        var field = JsonlFieldOption("--input");
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("stats", "Encode a file and report tokens, chars/token and bytes/token (special-token text counted as ordinary text).");
        foreach (var o in new Option[] { tokOpt, enc, input, field, threads }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var tok = TokenizerFiles.Load(pr.GetValue(tokOpt)!, pr.GetValue(enc));
            var s = Measure(tok, TokenizerFiles.ReadDocuments(pr.GetValue(input)!, pr.GetValue(field)), pr.GetValue(threads));
            var o = pr.InvocationConfiguration.Output;
            o.WriteLine($"vocabulary     {tok.VocabSize.ToString("N0", Ci)} ({tok.Merges.Length.ToString("N0", Ci)} merges, {tok.SpecialTokens.Count} special)");
            o.WriteLine($"documents      {s.Documents.ToString("N0", Ci)}");
            o.WriteLine($"chars          {s.Chars.ToString("N0", Ci)}");
            o.WriteLine($"bytes          {s.Bytes.ToString("N0", Ci)}");
            o.WriteLine($"tokens         {s.Tokens.ToString("N0", Ci)}");
            o.WriteLine($"chars/token    {s.CharsPerToken.ToString("F3", Ci)}");
            o.WriteLine($"bytes/token    {s.BytesPerToken.ToString("F3", Ci)}");
            o.WriteLine($"encode speed   {(s.Seconds > 0 ? s.Bytes / 1e6 / s.Seconds : 0).ToString("F1", Ci)} MB/s");
            return 0;
        }));
        return cmd;
    }
}
