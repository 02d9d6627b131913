// `sharplm data tokenize`: documents (JSONL, optionally gzip) → token shards (.bin/.idx, TokenShardWriter;
// uint16 when the vocabulary fits 65536 ids) with a deterministic train/validation split. A document goes
// to validation when XXH3(id, seed), read as a fraction of 2⁶⁴, falls below --val-fraction: the split
// depends only on the id, never on file order or thread count, so re-tokenizing a grown corpus keeps old
// documents on their side. Text is encoded as ordinary text (special-token strings inside documents are
// not turned into control tokens); BOS/EOS ids are added around each document when asked. Batches of
// documents are encoded in parallel and written in input order, so shards are byte-identical across
// thread counts. Shards roll over after --shard-tokens tokens (documents are never split).
// Not here: tokenizer training (sharplm tokenizer train), packing into training windows (TokenLoader).
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpLM.Models.IO;
using SharpLM.Text.Data.Dedup;
using SharpLM.Text.Tokenization;
using SharpLM.Training.Data;

namespace SharpLM.Cli.Commands;

/// <summary>Options of a tokenize run.</summary>
internal sealed record TokenizeOptions
{
    public required string Input { get; init; }
    public required string Tokenizer { get; init; }
    public required string OutDir { get; init; }
    public double ValFraction { get; init; } = 0.05;
    public bool Bos { get; init; }
    public bool Eos { get; init; }
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public long ShardTokens { get; init; } = 100_000_000;
    public int Threads { get; init; }
    public ulong Seed { get; init; }
    public int BatchSize { get; init; } = 1024;
    public bool SkipBadLines { get; init; }
    public bool Overwrite { get; init; }
}

/// <summary>Counts of a tokenize run.</summary>
internal sealed record TokenizeStats(long Docs, long TrainDocs, long ValDocs, long Tokens, long TrainTokens, long ValTokens, long Bytes,
                                     long BadLines, int TrainShards, int ValShards, int VocabSize, double Seconds)
{
    public double BytesPerToken => Tokens == 0 ? 0 : (double)Bytes / Tokens;

    public string Line()
    {
        var ci = CultureInfo.InvariantCulture;
        return $"docs {Docs.ToString("N0", ci)} (train {TrainDocs.ToString("N0", ci)} / val {ValDocs.ToString("N0", ci)}) · " +
               $"tokens {Tokens.ToString("N0", ci)} (train {TrainTokens.ToString("N0", ci)} / val {ValTokens.ToString("N0", ci)}) · " +
               $"bytes {Bytes.ToString("N0", ci)} · {BytesPerToken.ToString("F3", ci)} bytes/token · " +
               $"{(Seconds > 0 ? Bytes / Seconds / 1e6 : 0).ToString("F1", ci)} MB/s" + (BadLines > 0 ? $" · {BadLines} bad lines skipped" : "");
    }
}

internal static class TokenizeJob
{
    private static readonly string[] BosNames = ["<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>", "<|endoftext|>"];
    private static readonly string[] EosNames = ["<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>"];

    /// <summary>Whether document <paramref name="id"/> belongs to the validation split.</summary>
    public static bool IsValidation(string id, double fraction, ulong seed) =>
        fraction > 0 && (TextHash.Hash64(id, seed) >> 11) * (1.0 / (1UL << 53)) < fraction;

    /// <summary>The id of a special (or ordinary single) token named <paramref name="text"/>, or of the first of <paramref name="defaults"/> present.</summary>
    public static int ResolveToken(BpeTokenizer tok, string? text, string[] defaults, string role)
    {
        if (text is not null)
        {
            if (tok.SpecialTokens.TryGetValue(text, out int id)) return id;
            int plain = tok.TokenToId(Encoding.UTF8.GetBytes(text));
            if (plain >= 0) return plain;
            throw new ArgumentException($"--{role}-token '{text}' is not a token of the tokenizer");
        }
        foreach (var name in defaults)
            if (tok.SpecialTokens.TryGetValue(name, out int id)) return id;
        throw new ArgumentException($"--{role}: the tokenizer has none of the special tokens {string.Join(", ", defaults)}; name one with --{role}-token");
    }

    public static TokenizeStats Run(TokenizeOptions o, Action<string>? log = null)
    {
        if (!(o.ValFraction >= 0 && o.ValFraction < 1)) throw new ArgumentException($"--val-fraction must be in [0, 1), got {o.ValFraction}");
        if (o.ShardTokens < 1) throw new ArgumentException($"--shard-tokens must be ≥ 1, got {o.ShardTokens}");
        if (!File.Exists(o.Tokenizer)) throw new FileNotFoundException($"{o.Tokenizer}: tokenizer not found", o.Tokenizer);
        var tok = TokenizerJson.Load(o.Tokenizer);
        int bos = o.Bos || o.BosToken is not null ? ResolveToken(tok, o.BosToken, BosNames, "bos") : -1;
        int eos = o.Eos || o.EosToken is not null ? ResolveToken(tok, o.EosToken, EosNames, "eos") : -1;
        Directory.CreateDirectory(o.OutDir);
        var stale = Directory.EnumerateFiles(o.OutDir, "*_??????.bin").Where(p => Path.GetFileName(p).StartsWith("train_", StringComparison.Ordinal) || Path.GetFileName(p).StartsWith("val_", StringComparison.Ordinal)).ToList();
        if (stale.Count > 0 && !o.Overwrite) throw new ArgumentException($"{o.OutDir}: already holds token shards ({Path.GetFileName(stale[0])}, …); pass --overwrite to replace them");
        foreach (var p in stale) { File.Delete(p); File.Delete(TokenShardFormat.IndexPathFor(p)); }

        var sw = Stopwatch.StartNew();
        int vocab = tok.VocabSize;
        using var train = new ShardSeries(o.OutDir, "train", vocab, o.ShardTokens);
        using var val = new ShardSeries(o.OutDir, "val", vocab, o.ShardTokens);
        long docs = 0, bytes = 0, bad = 0;
        var batch = new List<string>(o.BatchSize);
        var ids = new List<string>(o.BatchSize);
        var encoded = new int[o.BatchSize][];
        foreach (var doc in DocumentJsonl.Read(o.Input, o.SkipBadLines, m => { bad++; log?.Invoke(m); }))
        {
            batch.Add(doc.Text);
            ids.Add(doc.Id);
            if (batch.Count == o.BatchSize) Flush();
        }
        Flush();
        train.Complete();
        val.Complete();
        double secs = sw.Elapsed.TotalSeconds;
        var stats = new TokenizeStats(docs, train.Docs, val.Docs, train.Tokens + val.Tokens, train.Tokens, val.Tokens, bytes, bad,
                                      train.Shards, val.Shards, vocab, secs);
        WriteStats(Path.Combine(o.OutDir, "stats.json"), o, stats);
        return stats;

        void Flush()
        {
            int n = batch.Count;
            if (n == 0) return;
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = o.Threads > 0 ? o.Threads : Environment.ProcessorCount },
                () => new List<int>(4096), (i, _, list) =>
                {
                    list.Clear();
                    if (bos >= 0) list.Add(bos);
                    tok.EncodeOrdinaryTo(batch[i], list);
                    if (eos >= 0) list.Add(eos);
                    encoded[i] = list.ToArray();
                    return list;
                }, _ => { });
            for (int i = 0; i < n; i++)
            {
                (IsValidation(ids[i], o.ValFraction, o.Seed) ? val : train).Add(encoded[i]);
                bytes += Encoding.UTF8.GetByteCount(batch[i]);
                encoded[i] = null!;
            }
            docs += n;
            batch.Clear();
            ids.Clear();
        }
    }

    private static void WriteStats(string path, TokenizeOptions o, TokenizeStats s)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("input", o.Input);
            w.WriteString("tokenizer", o.Tokenizer);
            w.WriteNumber("vocab_size", s.VocabSize);
            w.WriteNumber("val_fraction", o.ValFraction);
            w.WriteNumber("split_seed", o.Seed);
            w.WriteBoolean("bos", o.Bos || o.BosToken is not null);
            w.WriteBoolean("eos", o.Eos || o.EosToken is not null);
            w.WriteNumber("documents", s.Docs);
            w.WriteNumber("train_documents", s.TrainDocs);
            w.WriteNumber("val_documents", s.ValDocs);
            w.WriteNumber("tokens", s.Tokens);
            w.WriteNumber("train_tokens", s.TrainTokens);
            w.WriteNumber("val_tokens", s.ValTokens);
            w.WriteNumber("bytes", s.Bytes);
            w.WriteNumber("bytes_per_token", Math.Round(s.BytesPerToken, 6));
            w.WriteNumber("train_shards", s.TrainShards);
            w.WriteNumber("val_shards", s.ValShards);
            w.WriteNumber("bad_lines", s.BadLines);
            w.WriteEndObject();
        }
        AtomicFile.Write(path, st => st.Write(ms.ToArray()));
    }

    /// <summary>prefix_000000.bin, prefix_000001.bin, … each closed after it reaches the token budget.</summary>
    private sealed class ShardSeries(string dir, string prefix, int vocab, long shardTokens) : IDisposable
    {
        private TokenShardWriter? _cur;
        public long Docs { get; private set; }
        public long Tokens { get; private set; }
        public int Shards { get; private set; }

        public void Add(int[] tokens)
        {
            _cur ??= new TokenShardWriter(Path.Combine(dir, $"{prefix}_{Shards:D6}.bin"), vocab);
            _cur.AddDocument(tokens);
            Docs++;
            Tokens += tokens.Length;
            if (_cur.TokenCount >= shardTokens) Complete();
        }

        public void Complete()
        {
            if (_cur is null) return;
            _cur.Complete();
            _cur.Dispose();
            _cur = null;
            Shards++;
        }

        public void Dispose() => _cur?.Dispose();
    }
}
