// Byte-level BPE training (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword Units";
// byte-level as in GPT-2, Radford et al. 2019), following the algorithm of Hugging Face tokenizers' BpeTrainer
// (tokenizers/src/models/bpe/trainer.rs) so that the merges agree:
//  1. Pre-tokenize the corpus and count unique chunks (in parallel, thread-local counts merged at the end).
//     Plain-text files are read line by line, each line with its '\n', as the Rust trainer reads files;
//     a JSONL file gives one document per line from a string field. Documents are cut at MaxDocumentChars,
//     and only unique chunks are kept, so memory is bounded by the vocabulary of chunks, not the corpus size.
//     For corpora whose chunk vocabulary itself outgrows memory, MaxUniqueChunks caps the table: when it is
//     exceeded, the rarest chunks are dropped (all chunks of count 1, then of count 2, … until at most half the
//     cap remain), the pruning of lossy counting (Manku & Motwani 2002). Frequent chunks, which decide the
//     merges, survive; the counts of pruned rare chunks are lost, so merges near the end of a large vocabulary
//     may differ from an exact count. ChunkCounts.Pruned reports how many were dropped.
//  2. Start from the 256 byte tokens, numbered in the order of their byte-level characters (as the Rust
//     trainer numbers its alphabet), count adjacent pairs weighted by chunk frequency, and remember for each
//     pair which chunks contain it.
//  3. Repeatedly take the most frequent pair from a priority queue (stale entries are re-queued with their
//     current count), add the merged token, and rewrite only the chunks that contain the pair, updating pair
//     counts incrementally; new pairs are queued.
// Tie-break (deterministic, documented): among pairs with equal count the pair with the smaller left id wins,
// then the smaller right id; ids are the base bytes in byte-level character order, then merges in order.
// Training stops at the target vocabulary (special tokens included), when no pair reaches MinFrequency, or when
// nothing is left to merge. Special tokens get the ids after the last merge and are never produced by merges.
// Not here: encoding (BpeTokenizer), file formats (TokenizerJson, TiktokenFile).
using System.Text;
using System.Text.Json;

namespace SharpLM.Text.Tokenization;

/// <summary>Options of <see cref="BpeTrainer"/>.</summary>
/// <param name="VocabSize">Total vocabulary size including the 256 byte tokens and the special tokens.</param>
/// <param name="MinFrequency">Pairs seen fewer times than this are never merged.</param>
/// <param name="Pattern">Pre-tokenizer pattern (see <see cref="PreTokenizerPatterns"/>).</param>
/// <param name="SpecialTokens">Special tokens, added after training in this order.</param>
/// <param name="MaxDocumentChars">Longer documents (or lines) are cut to this many chars before counting.</param>
/// <param name="Threads">Worker threads for counting (0 = one per core).</param>
/// <param name="MaxUniqueChunks">Cap on distinct chunks held while counting; the rarest are pruned beyond it.</param>
public sealed record BpeTrainerOptions(
    int VocabSize = 8192,
    int MinFrequency = 2,
    string Pattern = PreTokenizerPatterns.Gpt2,
    IReadOnlyList<string>? SpecialTokens = null,
    int MaxDocumentChars = 1 << 20,
    int Threads = 0,
    int MaxUniqueChunks = 8 << 20)
{
    /// <summary>GPT-2 style: GPT-2 pattern and an end-of-text token.</summary>
    public static BpeTrainerOptions Gpt2Style(int vocabSize) => new(vocabSize, SpecialTokens: ["<|endoftext|>"]);

    /// <summary>Chat style: cl100k pattern with BOS/EOS/PAD and chat-role tokens.</summary>
    public static BpeTrainerOptions ChatStyle(int vocabSize) => new(vocabSize, Pattern: PreTokenizerPatterns.Cl100k,
        SpecialTokens: ["<|bos|>", "<|eos|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]);
}

/// <summary>Counts of unique pre-tokenization chunks of a corpus.</summary>
public sealed class ChunkCounts
{
    internal readonly Dictionary<string, long> Counts = new(StringComparer.Ordinal);

    /// <summary>Number of unique chunks.</summary>
    public int Unique => Counts.Count;

    /// <summary>Total chunks counted.</summary>
    public long Total { get; internal set; }

    /// <summary>Total UTF-8 bytes counted.</summary>
    public long Bytes { get; internal set; }

    /// <summary>Distinct chunks dropped by pruning (see <see cref="BpeTrainerOptions.MaxUniqueChunks"/>).</summary>
    public long Pruned { get; internal set; }

    /// <summary>Drops the rarest chunks until at most <paramref name="keep"/> remain: every chunk of count 1,
    /// then of count 2, and so on. Returns the count threshold that was applied (0 when nothing was dropped).</summary>
    internal long Prune(int keep)
    {
        if (Counts.Count <= keep) return 0;
        // histogram of small counts picks the threshold in one pass
        const int maxBucket = 1 << 16;
        var hist = new long[maxBucket + 1];
        foreach (var v in Counts.Values) hist[Math.Min(v, maxBucket)]++;
        long remaining = Counts.Count;
        long threshold = 0;
        while (remaining > keep && threshold < maxBucket) { threshold++; remaining -= hist[threshold]; }
        var drop = new List<string>();
        foreach (var (k, v) in Counts)
            if (v <= threshold) drop.Add(k);
        foreach (var k in drop) Counts.Remove(k);
        Counts.TrimExcess();
        Pruned += drop.Count;
        return threshold;
    }

    internal void MergeFrom(ChunkCounts other)
    {
        foreach (var (k, v) in other.Counts)
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(Counts, k, out _) += v;
        Total += other.Total;
        Bytes += other.Bytes;
        Pruned += other.Pruned;
    }
}

/// <summary>Trains a byte-level BPE tokenizer.</summary>
public sealed class BpeTrainer(BpeTrainerOptions options)
{
    /// <summary>The options.</summary>
    public BpeTrainerOptions Options { get; } = options;

    /// <summary>Trains on plain-text files (line by line) or, when <paramref name="jsonlField"/> is set, on that string field of JSONL files.</summary>
    public BpeTokenizer TrainFiles(IReadOnlyList<string> paths, string? jsonlField = null)
    {
        Validate();
        var counts = CountFiles(paths, jsonlField);
        return Train(counts);
    }

    /// <summary>Trains on documents (each is pre-tokenized whole, cut at MaxDocumentChars). The sequence is read
    /// once, in blocks, so it may be streamed from disk.</summary>
    public BpeTokenizer TrainTexts(IEnumerable<string> documents)
    {
        Validate();
        var counts = CountTexts(documents);
        return Train(counts);
    }

    private void Validate()
    {
        int specials = Options.SpecialTokens?.Count ?? 0;
        if (Options.VocabSize < 256 + specials)
            throw new ArgumentException($"vocab size {Options.VocabSize} is smaller than the 256 byte tokens plus {specials} special tokens ({256 + specials})");
        if (Options.MaxDocumentChars < 1) throw new ArgumentException("MaxDocumentChars must be at least 1");
        if (Options.MaxUniqueChunks < 1024) throw new ArgumentException($"MaxUniqueChunks must be at least 1024, got {Options.MaxUniqueChunks}");
        if (Options.SpecialTokens is { } sp)
            foreach (var s in sp)
                if (string.IsNullOrEmpty(s)) throw new ArgumentException("a special token is empty");
    }

    // ------------------------------------------------------------- counting

    private const int BlockChars = 8 << 20;

    /// <summary>Counts the chunks of documents, in blocks of about 8M chars counted in parallel.</summary>
    public ChunkCounts CountTexts(IEnumerable<string> documents)
    {
        var pre = new PreTokenizer(Options.Pattern);
        var total = new ChunkCounts();
        var block = new List<string>();
        long chars = 0;
        foreach (var d in documents)
        {
            if (d is null) continue;
            block.Add(d);
            chars += Math.Min(d.Length, Options.MaxDocumentChars);
            if (chars >= BlockChars) { AddBlock(total, block, pre); block.Clear(); chars = 0; }
        }
        if (block.Count > 0) AddBlock(total, block, pre);
        return total;
    }

    private void AddBlock(ChunkCounts total, List<string> block, PreTokenizer pre)
    {
        var c = CountParallel(block, pre);
        if (total.Unique == 0 && total.Total == 0) { total.Counts.EnsureCapacity(c.Unique); }
        total.MergeFrom(c);
        if (total.Unique > Options.MaxUniqueChunks) total.Prune(Options.MaxUniqueChunks / 2);
    }

    private int Threads => Options.Threads > 0 ? Options.Threads : Environment.ProcessorCount;

    private ChunkCounts CountParallel(IReadOnlyList<string> docs, PreTokenizer pre)
    {
        int threads = Math.Max(1, Math.Min(Threads, docs.Count));
        var parts = new ChunkCounts[threads];
        int per = (docs.Count + threads - 1) / Math.Max(1, threads);
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var c = new ChunkCounts();
            var lookup = c.Counts.GetAlternateLookup<ReadOnlySpan<char>>();
            long total = 0;
            int end = Math.Min(docs.Count, (t + 1) * per);
            for (int i = t * per; i < end; i++)
            {
                var d = docs[i].AsSpan();
                if (d.Length > Options.MaxDocumentChars) d = d[..Options.MaxDocumentChars];
                var sink = new CountSink(lookup, d);
                pre.Split(d, ref sink);
                total += sink.Total;
                c.Bytes += Encoding.UTF8.GetByteCount(d);
            }
            c.Total = total;
            parts[t] = c;
        });
        var all = parts[0];
        for (int t = 1; t < parts.Length; t++) all.MergeFrom(parts[t]);
        return all;
    }

    private ref struct CountSink(Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> lookup, ReadOnlySpan<char> text) : IChunkSink
    {
        private readonly ReadOnlySpan<char> _text = text;
        public long Total;

        public void Chunk(int start, int length)
        {
            var span = _text.Slice(start, length);
            if (lookup.TryGetValue(span, out long n)) lookup[span] = n + 1;
            else lookup[span] = 1;
            Total++;
        }
    }

    /// <summary>Counts the chunks of files: plain text line by line, or the <paramref name="jsonlField"/> of each JSONL line.
    /// Reads in blocks so memory stays bounded; errors name the file and line.</summary>
    public ChunkCounts CountFiles(IReadOnlyList<string> paths, string? jsonlField = null)
    {
        if (paths.Count == 0) throw new ArgumentException("no input files given");
        var pre = new PreTokenizer(Options.Pattern);
        var total = new ChunkCounts();
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"input file not found: {path}", path);
            using var stream = TiktokenFile.OpenMaybeGzip(path);
            using var reader = new StreamReader(stream, utf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
            var block = new List<string>();
            int chars = 0;
            long lineNo = 0;
            var lines = new LineReader(reader);
            while (true)
            {
                string? line;
                try { line = lines.Next(); }
                catch (DecoderFallbackException)
                {
                    var (badLine, offset) = FirstInvalidUtf8(path);
                    throw new InvalidDataException($"{path}: not valid UTF-8 at line {badLine} (byte offset {offset}); convert it to UTF-8 first");
                }
                if (line is null) break;
                lineNo++;
                if (jsonlField is not null)
                {
                    if (string.IsNullOrWhiteSpace(line)) continue;
                    line = TokenizerFiles.JsonlField(line, jsonlField, path, lineNo);
                    if (line is null) continue;
                }
                block.Add(line);
                chars += line.Length;
                if (chars >= BlockChars) { AddBlock(total, block, pre); block.Clear(); chars = 0; }
            }
            if (block.Count > 0) AddBlock(total, block, pre);
        }
        if (total.Total == 0)
            throw new InvalidDataException($"the corpus is empty ({string.Join(", ", paths)}): nothing to train on");
        return total;
    }

    // Line (1-based) and byte offset of the first byte that does not start a well-formed UTF-8 character.
    internal static (long Line, long Offset) FirstInvalidUtf8(string path)
    {
        using var stream = TiktokenFile.OpenMaybeGzip(path);
        var buf = new byte[1 << 16];
        int have = 0;
        long line = 1, offset = 0;
        while (true)
        {
            int read = stream.Read(buf, have, buf.Length - have);
            bool end = read == 0;
            have += read;
            int i = 0;
            while (i < have)
            {
                var status = System.Text.Rune.DecodeFromUtf8(buf.AsSpan(i, have - i), out _, out int used);
                if (status == System.Buffers.OperationStatus.NeedMoreData && !end) break;
                if (status != System.Buffers.OperationStatus.Done) return (line, offset + i);
                if (buf[i] == (byte)'\n') line++;
                i += used;
            }
            if (end) return (line, offset + i);
            Array.Copy(buf, i, buf, 0, have - i);
            offset += i;
            have -= i;
        }
    }

    // Lines that keep their terminating '\n' (and a preceding '\r'), as Rust's read_line does.
    private sealed class LineReader(TextReader reader)
    {
        private readonly char[] _buf = new char[1 << 16];
        private int _pos, _len;
        private readonly StringBuilder _sb = new();

        public string? Next()
        {
            _sb.Clear();
            while (true)
            {
                if (_pos == _len)
                {
                    _len = reader.Read(_buf, 0, _buf.Length);
                    _pos = 0;
                    if (_len == 0) return _sb.Length == 0 ? null : _sb.ToString();
                }
                int nl = _buf.AsSpan(_pos, _len - _pos).IndexOf('\n');
                if (nl >= 0)
                {
                    string line = _sb.Length == 0 ? new string(_buf, _pos, nl + 1) : _sb.Append(_buf, _pos, nl + 1).ToString();
                    _pos += nl + 1;
                    return line;
                }
                _sb.Append(_buf, _pos, _len - _pos);
                _pos = _len;
            }
        }
    }

    // ------------------------------------------------------------- merging

    /// <summary>The base id of each byte: bytes numbered in the order of their byte-level characters.</summary>
    internal static int[] BaseIds()
    {
        var order = new int[256];
        for (int b = 0; b < 256; b++) order[b] = b;
        Array.Sort(order, (x, y) => TokenizerJson.ByteChar((byte)x).CompareTo(TokenizerJson.ByteChar((byte)y)));
        var id = new int[256];
        for (int i = 0; i < 256; i++) id[order[i]] = i;
        return id;
    }

    private readonly struct Priority(long count, int a, int b)
    {
        public readonly long Count = count;
        public readonly int A = a, B = b;
    }

    private sealed class PriorityOrder : IComparer<Priority>
    {
        // PriorityQueue dequeues the smallest: highest count first, then smaller left id, then smaller right id
        public int Compare(Priority x, Priority y) =>
            x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.A != y.A ? x.A.CompareTo(y.A) : x.B.CompareTo(y.B);
    }

    /// <summary>Runs the merges on counted chunks and returns the tokenizer.</summary>
    public BpeTokenizer Train(ChunkCounts counts)
    {
        Validate();
        if (counts.Unique == 0) throw new InvalidDataException("the corpus is empty: nothing to train on");
        int specialCount = Options.SpecialTokens?.Count ?? 0;
        int target = Options.VocabSize - specialCount;

        // vocabulary: base bytes in byte-level character order
        var baseId = BaseIds();
        var vocab = new List<byte[]?>(target);
        for (int i = 0; i < 256; i++) vocab.Add(null);
        for (int b = 0; b < 256; b++) vocab[baseId[b]] = [(byte)b];
        var vocabIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < 256; i++) vocabIndex[BpeTokenizer.Latin1(vocab[i]!)] = i;

        // words: symbols of each unique chunk in one flat array
        int nWords = counts.Unique;
        var wordStart = new int[nWords];
        var wordLen = new int[nWords];
        var wordCount = new long[nWords];
        int totalSym = 0;
        {
            int w = 0;
            foreach (var (chunk, _) in counts.Counts) { wordStart[w] = totalSym; totalSym += Encoding.UTF8.GetByteCount(chunk); w++; }
        }
        var sym = new int[totalSym];
        {
            int w = 0;
            byte[] buf = new byte[256];
            foreach (var (chunk, n) in counts.Counts)
            {
                int len = Encoding.UTF8.GetMaxByteCount(chunk.Length);
                if (buf.Length < len) buf = new byte[len];
                int nb = Encoding.UTF8.GetBytes(chunk, buf);
                for (int i = 0; i < nb; i++) sym[wordStart[w] + i] = baseId[buf[i]];
                wordLen[w] = nb;
                wordCount[w] = n;
                w++;
            }
        }

        // pair statistics
        var pairSlot = new Dictionary<long, int>();
        var pairCount = new List<long>();
        var pairWords = new List<List<int>?>();
        var pairA = new List<int>();
        var pairB = new List<int>();
        int Slot(int a, int b)
        {
            long key = ((long)a << 32) | (uint)b;
            ref int slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(pairSlot, key, out bool exists);
            if (!exists)
            {
                slot = pairCount.Count;
                pairCount.Add(0); pairWords.Add(new List<int>()); pairA.Add(a); pairB.Add(b);
            }
            return slot;
        }
        for (int w = 0; w < nWords; w++)
        {
            int s0 = wordStart[w];
            for (int i = 0; i + 1 < wordLen[w]; i++)
            {
                int p = Slot(sym[s0 + i], sym[s0 + i + 1]);
                pairCount[p] += wordCount[w];
                var list = pairWords[p]!;
                if (list.Count == 0 || list[^1] != w) list.Add(w);
            }
        }
        var queue = new PriorityQueue<int, Priority>(new PriorityOrder());
        for (int p = 0; p < pairCount.Count; p++)
            if (pairCount[p] > 0) queue.Enqueue(p, new Priority(pairCount[p], pairA[p], pairB[p]));

        var merges = new List<(int, int)>();
        var seenWord = new int[nWords];
        Array.Fill(seenWord, -1);
        var touched = new List<int>();
        var touchedMark = new HashSet<int>();
        int minFreq = Math.Max(1, Options.MinFrequency);
        int vocabCount = 256;
        while (vocabCount < target && queue.TryDequeue(out int top, out var prio))
        {
            long current = pairCount[top];
            if (prio.Count != current)
            {
                // stale: re-queue at its current count (a pair that vanished is simply dropped)
                if (current > 0) queue.Enqueue(top, new Priority(current, prio.A, prio.B));
                continue;
            }
            if (current < minFreq) break;
            int a = pairA[top], b = pairB[top];
            var merged = new byte[vocab[a]!.Length + vocab[b]!.Length];
            vocab[a]!.CopyTo(merged, 0);
            vocab[b]!.CopyTo(merged, vocab[a]!.Length);
            string key = BpeTokenizer.Latin1(merged);
            if (!vocabIndex.TryGetValue(key, out int newId))
            {
                newId = vocab.Count;
                vocab.Add(merged);
                vocabIndex[key] = newId;
                vocabCount++;
            }
            int mergeNo = merges.Count;
            merges.Add((a, b));
            pairCount[top] = 0;

            var words = pairWords[top]!;
            pairWords[top] = null;
            touched.Clear();
            touchedMark.Clear();
            foreach (int w in words)
            {
                if (seenWord[w] == mergeNo) continue;
                seenWord[w] = mergeNo;
                long cnt = wordCount[w];
                int s0 = wordStart[w], len = wordLen[w];
                int o = 0; // write index
                int i = 0;
                while (i < len)
                {
                    if (i + 1 < len && sym[s0 + i] == a && sym[s0 + i + 1] == b)
                    {
                        if (o > 0)
                        {
                            int prev = sym[s0 + o - 1];
                            pairCount[Slot(prev, a)] -= cnt;
                            int ps = Slot(prev, newId);
                            pairCount[ps] += cnt;
                            AddWord(pairWords, ps, w, touched, touchedMark);
                        }
                        if (i + 2 < len)
                        {
                            int next = sym[s0 + i + 2];
                            pairCount[Slot(b, next)] -= cnt;
                            int ns = Slot(newId, next);
                            pairCount[ns] += cnt;
                            AddWord(pairWords, ns, w, touched, touchedMark);
                        }
                        sym[s0 + o++] = newId;
                        i += 2;
                    }
                    else sym[s0 + o++] = sym[s0 + i++];
                }
                wordLen[w] = o;
            }
            foreach (int p in touched)
                if (pairCount[p] > 0) queue.Enqueue(p, new Priority(pairCount[p], pairA[p], pairB[p]));
        }

        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (Options.SpecialTokens is { } sp)
            foreach (var s in sp)
                special.TryAdd(s, vocab.Count + special.Count);
        var result = BpeTokenizer.FromMerges(vocab, merges, special, Options.Pattern);
        return result;
    }

    private static void AddWord(List<List<int>?> pairWords, int slot, int w, List<int> touched, HashSet<int> mark)
    {
        var list = pairWords[slot] ??= new List<int>();
        if (list.Count == 0 || list[^1] != w) list.Add(w);
        if (mark.Add(slot)) touched.Add(slot);
    }
}
