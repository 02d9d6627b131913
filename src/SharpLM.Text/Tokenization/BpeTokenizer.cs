// A byte-level BPE tokenizer: pre-tokenize by regex, turn each chunk's UTF-8 bytes into byte tokens, merge
// pairs by rank (BpeMerge), with a per-thread chunk cache. Special tokens are matched in the text before
// pre-tokenization, only when the caller allows them (tiktoken's rule: by default special-token text in the
// input is an error; EncodeOrdinary encodes it as plain text).
// Follows tiktoken (openai/tiktoken, CoreBPE) and Hugging Face tokenizers' ByteLevel BPE model; the two
// agree when the pair table is built from ranks (every split of a token) or from an ordered merge list.
// Not here: file formats (TiktokenFile, TokenizerJson), training (BpeTrainer).
using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace SharpLM.Text.Tokenization;

/// <summary>A byte-level BPE tokenizer. Thread-safe: every thread gets its own chunk cache.</summary>
public sealed class BpeTokenizer
{
    private readonly byte[]?[] _tokenBytes;          // id → bytes (null: unused id or special token)
    private readonly int[] _byteToId = new int[256]; // byte → id of its single-byte token
    private readonly PairTable _pairs;
    private readonly (int A, int B, int Merged)[] _merges; // in priority order
    private readonly Dictionary<string, int> _special;
    private readonly string?[] _specialById;
    private readonly PreTokenizer _pre;
    private readonly ThreadLocal<EncodeState> _state;
    private int _statesCreated;
    private readonly int[] _bytesPerToken;

    /// <summary>Chunks longer than this many chars are not cached.</summary>
    internal const int MaxCachedChunkChars = 128;

    /// <summary>The cache is cleared when it holds this many chunks, so it stays bounded.</summary>
    internal const int MaxCacheEntries = 1 << 17;

    private BpeTokenizer(byte[]?[] tokenBytes, PairTable pairs, (int, int, int)[] merges,
                         IReadOnlyDictionary<string, int> special, string pattern, bool addPrefixSpace)
    {
        _pairs = pairs;
        _merges = merges;
        _pre = new PreTokenizer(pattern);
        AddPrefixSpace = addPrefixSpace;
        _special = new Dictionary<string, int>(special, StringComparer.Ordinal);
        int size = tokenBytes.Length;
        foreach (var (s, id) in special)
        {
            if (string.IsNullOrEmpty(s)) throw new ArgumentException("special token text must not be empty");
            if (id < 0) throw new ArgumentException($"special token '{s}' has a negative id {id}");
            if (id < tokenBytes.Length && tokenBytes[id] is not null)
                throw new ArgumentException($"special token '{s}' has id {id}, which is already a BPE token");
            size = Math.Max(size, id + 1);
        }
        _tokenBytes = new byte[]?[size];
        Array.Copy(tokenBytes, _tokenBytes, tokenBytes.Length);
        _specialById = new string?[size];
        foreach (var (s, id) in special)
        {
            if (_specialById[id] is not null) throw new ArgumentException($"special tokens '{_specialById[id]}' and '{s}' share id {id}");
            _specialById[id] = s;
        }
        Array.Fill(_byteToId, -1);
        for (int i = 0; i < tokenBytes.Length; i++)
            if (tokenBytes[i] is { Length: 1 } b) _byteToId[b[0]] = i;
        // A vocabulary trained without the full byte alphabet (Hugging Face's trainer keeps only the bytes it saw)
        // has no token for some bytes; Hugging Face's BPE without an unk token drops such bytes, and so do we.
        for (int b = 0; b < 256; b++)
            if (_byteToId[b] < 0) MissingBytes++;
        _bytesPerToken = new int[size];
        for (int i = 0; i < size; i++) _bytesPerToken[i] = _tokenBytes[i]?.Length ?? 0;
        // The first encoding thread uses the shared pre-tokenizer; every other thread gets its own regex instance:
        // a Regex keeps one cached runner, so threads matching at once through one instance build a fresh runner
        // (and its backtracking stack) per call, which made batched encode slower than one thread.
        _state = new ThreadLocal<EncodeState>(
            () => new EncodeState(this, Interlocked.Increment(ref _statesCreated) == 1 ? _pre : _pre.CloneForThread()),
            trackAllValues: true);
    }

    /// <summary>Builds a tokenizer from tiktoken-style ranks: <paramref name="tokens"/>[rank] is the token's bytes
    /// (null for an unused rank). Any adjacent pair whose concatenation is a token merges, lowest rank first.</summary>
    public static BpeTokenizer FromRanks(IReadOnlyList<byte[]?> tokens, IReadOnlyDictionary<string, int> specialTokens, string pattern)
    {
        var bytes = new byte[]?[tokens.Count];
        var lookup = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (t is null) continue;
            if (t.Length == 0) throw new InvalidDataException($"rank {i} has an empty token");
            bytes[i] = t;
            if (!lookup.TryAdd(Latin1(t), i)) throw new InvalidDataException($"rank {i} repeats the bytes of rank {lookup[Latin1(t)]}");
        }
        var alt = lookup.GetAlternateLookup<ReadOnlySpan<char>>();
        var pairs = new PairTable(tokens.Count * 4);
        var merges = new List<(int, int, int)>();
        char[] buf = new char[256];
        for (int i = 0; i < bytes.Length; i++)
        {
            var t = bytes[i];
            if (t is null || t.Length < 2) continue;
            if (buf.Length < t.Length) buf = new char[t.Length * 2];
            for (int k = 0; k < t.Length; k++) buf[k] = (char)t[k];
            var s = buf.AsSpan(0, t.Length);
            for (int k = 1; k < t.Length; k++)
                if (alt.TryGetValue(s[..k], out int a) && alt.TryGetValue(s[k..], out int b))
                {
                    pairs.Add(a, b, i, i);
                    merges.Add((a, b, i));
                }
        }
        // merge order: by merged rank, then by the ranks of the parts (the order Hugging Face's converter uses)
        merges.Sort((x, y) => x.Item3 != y.Item3 ? x.Item3.CompareTo(y.Item3) : x.Item1 != y.Item1 ? x.Item1.CompareTo(y.Item1) : x.Item2.CompareTo(y.Item2));
        return new BpeTokenizer(bytes, pairs, merges.ToArray(), specialTokens, pattern, false);
    }

    /// <summary>Builds a tokenizer from a vocabulary and an ordered merge list (Hugging Face BPE): the pair
    /// listed first merges first. Each merge's result must be in the vocabulary.</summary>
    public static BpeTokenizer FromMerges(IReadOnlyList<byte[]?> vocab, IReadOnlyList<(int A, int B)> merges,
                                          IReadOnlyDictionary<string, int> specialTokens, string pattern, bool addPrefixSpace = false)
    {
        var bytes = new byte[]?[vocab.Count];
        var lookup = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        for (int i = 0; i < vocab.Count; i++)
        {
            if (vocab[i] is not { } t) continue;
            bytes[i] = t;
            lookup.TryAdd(Latin1(t), i);
        }
        var pairs = new PairTable(merges.Count);
        var list = new (int, int, int)[merges.Count];
        for (int r = 0; r < merges.Count; r++)
        {
            var (a, b) = merges[r];
            if ((uint)a >= (uint)bytes.Length || bytes[a] is null || (uint)b >= (uint)bytes.Length || bytes[b] is null)
                throw new InvalidDataException($"merge {r} refers to an id outside the vocabulary");
            var cat = Latin1(bytes[a]!) + Latin1(bytes[b]!);
            if (!lookup.TryGetValue(cat, out int m))
                throw new InvalidDataException($"merge {r} produces a token that is not in the vocabulary");
            pairs.Add(a, b, r, m);
            list[r] = (a, b, m);
        }
        return new BpeTokenizer(bytes, pairs, list, specialTokens, pattern, addPrefixSpace);
    }

    internal static string Latin1(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    /// <summary>Trains a byte-level BPE tokenizer on documents: <paramref name="vocabSize"/> counts the 256 byte
    /// tokens, the merges and the <paramref name="specialTokens"/> (given ids after the last merge, in order).
    /// The documents are streamed once. For files, JSONL and more options use <see cref="BpeTrainer"/>.</summary>
    public static BpeTokenizer Train(IEnumerable<string> texts, int vocabSize, IEnumerable<string>? specialTokens = null,
                                     string pattern = PreTokenizerPatterns.Gpt2, int minFrequency = 2)
        => new BpeTrainer(new BpeTrainerOptions(vocabSize, minFrequency, pattern, specialTokens?.ToArray())).TrainTexts(texts);

    /// <summary>Loads a Hugging Face tokenizer.json (byte-level BPE), or the tokenizer.json in a directory, or a
    /// .tiktoken rank file (GPT-2 pattern; see <see cref="TokenizerFiles.Load"/> for the OpenAI encodings).</summary>
    public static BpeTokenizer Load(string path) => TokenizerFiles.Load(path);

    /// <summary>Saves as a Hugging Face tokenizer.json (written to a temporary file, then renamed).</summary>
    public void Save(string path) => TokenizerJson.Save(this, path);

    /// <summary>Bytes with no token of their own (0 for every vocabulary this library trains or tiktoken ships).
    /// Encoding drops such bytes, as Hugging Face's BPE without an unk token does, so round trips need 0 here.</summary>
    public int MissingBytes { get; }

    // Removes the ids of bytes the vocabulary lacks (-1); returns the new length.
    private static int DropMissing(Span<int> ids)
    {
        int k = 0;
        for (int i = 0; i < ids.Length; i++)
            if (ids[i] >= 0) ids[k++] = ids[i];
        return k;
    }

    /// <summary>The pre-tokenizer pattern.</summary>
    public string Pattern => _pre.Pattern;

    /// <summary>Whether a space is put before text that does not start with whitespace (Hugging Face ByteLevel add_prefix_space).</summary>
    public bool AddPrefixSpace { get; }

    /// <summary>Number of ids: one more than the largest id, special tokens included.</summary>
    public int VocabSize => _tokenBytes.Length;

    /// <summary>Special tokens by text.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _special;

    /// <summary>Merges in priority order as (left id, right id, merged id).</summary>
    public ReadOnlySpan<(int A, int B, int Merged)> Merges => _merges;

    /// <summary>Bytes each id decodes to (0 for special tokens and unused ids): the denominator of bits-per-byte.</summary>
    public ReadOnlySpan<int> BytesPerToken => _bytesPerToken;

    /// <summary>The bytes of a token, or null for a special token or unused id.</summary>
    public byte[]? TokenBytes(int id) => (uint)id < (uint)_tokenBytes.Length ? _tokenBytes[id] : null;

    /// <summary>The text of a special token id, or null.</summary>
    public string? SpecialText(int id) => (uint)id < (uint)_specialById.Length ? _specialById[id] : null;

    /// <summary>Returns a copy with special tokens added after the last id (never produced by merges).</summary>
    public BpeTokenizer WithSpecialTokens(IEnumerable<string> tokens)
    {
        var special = new Dictionary<string, int>(_special, StringComparer.Ordinal);
        int next = VocabSize;
        foreach (var t in tokens)
            if (!special.ContainsKey(t)) special[t] = next++;
        var baseBytes = new byte[]?[_tokenBytes.Length];
        Array.Copy(_tokenBytes, baseBytes, baseBytes.Length);
        return new BpeTokenizer(baseBytes, _pairs, _merges, special, Pattern, AddPrefixSpace);
    }

    // ---------------------------------------------------------------- encode

    /// <summary>Encodes text; throws if it contains the text of a special token (use <see cref="EncodeOrdinary"/> or
    /// pass <paramref name="allowedSpecial"/>). Special tokens listed in <paramref name="allowedSpecial"/> become their ids.</summary>
    public int[] Encode(string text, IReadOnlyCollection<string>? allowedSpecial = null)
    {
        var list = new List<int>(text.Length / 3 + 4);
        EncodeTo(text, list, allowedSpecial);
        return list.ToArray();
    }

    /// <summary>Encodes text treating special-token text as ordinary text.</summary>
    public int[] EncodeOrdinary(string text)
    {
        var list = new List<int>(text.Length / 3 + 4);
        EncodeOrdinaryTo(text, list);
        return list.ToArray();
    }

    /// <summary>Encodes text, appending ids to <paramref name="output"/>; special tokens as in <see cref="Encode"/>.</summary>
    public void EncodeTo(ReadOnlySpan<char> text, List<int> output, IReadOnlyCollection<string>? allowedSpecial = null)
    {
        if (_special.Count == 0) { EncodeOrdinaryTo(text, output); return; }
        int pos = 0;
        while (pos <= text.Length)
        {
            int at = -1, len = 0;
            string? hit = null;
            foreach (var s in _special.Keys)
            {
                int i = text[pos..].IndexOf(s.AsSpan(), StringComparison.Ordinal);
                if (i < 0) continue;
                i += pos;
                if (at < 0 || i < at || (i == at && s.Length > len)) { at = i; len = s.Length; hit = s; }
            }
            if (hit is null) { EncodeOrdinaryTo(text[pos..], output); return; }
            if (allowedSpecial is null || !allowedSpecial.Contains(hit))
                throw new ArgumentException($"the text contains the special token '{hit}' at char {at}; " +
                                            "allow it explicitly to encode it as a special token, or encode the text as ordinary text");
            EncodeOrdinaryTo(text[pos..at], output);
            output.Add(_special[hit]);
            pos = at + len;
        }
    }

    /// <summary>Encodes text as ordinary text, appending ids to <paramref name="output"/>.</summary>
    public void EncodeOrdinaryTo(ReadOnlySpan<char> text, List<int> output)
    {
        if (text.IsEmpty) return;
        var state = _state.Value!;
        if (AddPrefixSpace && !char.IsWhiteSpace(text[0]))
        {
            // Hugging Face's ByteLevel(add_prefix_space) prepends one space to the sequence
            char[] tmp = ArrayPool<char>.Shared.Rent(text.Length + 1);
            tmp[0] = ' ';
            text.CopyTo(tmp.AsSpan(1));
            var sink = new EncodeSink(state, tmp.AsSpan(0, text.Length + 1), output);
            state.Pre.Split(tmp.AsSpan(0, text.Length + 1), ref sink);
            ArrayPool<char>.Shared.Return(tmp);
            return;
        }
        var s = new EncodeSink(state, text, output);
        state.Pre.Split(text, ref s);
    }

    /// <summary>Encodes raw bytes, which need not be valid UTF-8: each maximal run of valid UTF-8 is encoded as text
    /// (special-token text is ordinary there), each maximal run of invalid bytes as one chunk of byte tokens merged by BPE.</summary>
    public int[] EncodeBytes(ReadOnlySpan<byte> bytes)
    {
        var output = new List<int>(bytes.Length / 3 + 4);
        int pos = 0;
        while (pos < bytes.Length)
        {
            int valid = ValidPrefix(bytes[pos..]);
            if (valid > 0)
            {
                EncodeOrdinaryTo(Encoding.UTF8.GetString(bytes.Slice(pos, valid)), output);
                pos += valid;
                continue;
            }
            int end = pos;
            while (end < bytes.Length && ValidPrefix(bytes[end..]) == 0) end++;
            EncodeByteChunk(bytes[pos..end], output);
            pos = end;
        }
        return output.ToArray();
    }

    // Length of the longest prefix of bs that is valid UTF-8 ending on a character boundary.
    private static int ValidPrefix(ReadOnlySpan<byte> bs)
    {
        int i = 0;
        while (i < bs.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bs[i..], out _, out int used);
            if (status != System.Buffers.OperationStatus.Done) break;
            i += used;
        }
        return i;
    }

    internal void EncodeByteChunk(ReadOnlySpan<byte> chunk, List<int> output)
    {
        int[] ids = ArrayPool<int>.Shared.Rent(chunk.Length);
        for (int i = 0; i < chunk.Length; i++) ids[i] = _byteToId[chunk[i]];
        int len = MissingBytes == 0 ? chunk.Length : DropMissing(ids.AsSpan(0, chunk.Length));
        int n = BpeMerge.Merge(_pairs, ids.AsSpan(0, len));
        output.AddRange(ids.AsSpan(0, n));
        ArrayPool<int>.Shared.Return(ids);
    }

    /// <summary>Encodes many texts in parallel (one cache per worker thread); special tokens as in <see cref="Encode"/>,
    /// or as ordinary text when <paramref name="ordinary"/> is set.</summary>
    public int[][] EncodeBatch(IReadOnlyList<string> texts, IReadOnlyCollection<string>? allowedSpecial = null, int threads = 0, bool ordinary = false)
    {
        var result = new int[texts.Count][];
        int workers = Math.Max(1, Math.Min(threads > 0 ? threads : Environment.ProcessorCount, texts.Count));
        if (workers == 1)
        {
            for (int i = 0; i < texts.Count; i++) result[i] = ordinary ? EncodeOrdinary(texts[i]) : Encode(texts[i], allowedSpecial);
            return result;
        }
        // ranges of ~64K chars each, claimed dynamically so uneven documents still balance; pool threads keep
        // their chunk caches warm from one call to the next
        var bounds = new List<int> { 0 };
        long chars = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            chars += texts[i].Length;
            if (chars >= 1 << 16) { bounds.Add(i + 1); chars = 0; }
        }
        if (bounds[^1] != texts.Count) bounds.Add(texts.Count);
        int nextRange = -1;
        try
        {
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ =>
            {
                var list = new List<int>();
                int r;
                while ((r = Interlocked.Increment(ref nextRange)) < bounds.Count - 1)
                    for (int i = bounds[r]; i < bounds[r + 1]; i++)
                    {
                        list.Clear();
                        if (ordinary) EncodeOrdinaryTo(texts[i], list);
                        else EncodeTo(texts[i], list, allowedSpecial);
                        result[i] = list.ToArray();
                    }
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return result;
    }

    private readonly ref struct EncodeSink(EncodeState state, ReadOnlySpan<char> text, List<int> output) : IChunkSink
    {
        private readonly ReadOnlySpan<char> _text = text;
        public void Chunk(int start, int length) => state.EncodeChunk(_text.Slice(start, length), output);
    }

    // Per-thread chunk cache in two tiers. Chunks of up to 8 chars (most of them: a word with its leading space)
    // live in an open-addressing table whose key is the chars themselves packed into 128 bits, so a lookup is one
    // hash, one probe and an integer compare, with no string; longer chunks (up to MaxCachedChunkChars) use a
    // string dictionary. Both are emptied when full, which keeps memory bounded.
    private sealed class EncodeState
    {
        private const int MaxShortSlots = 1 << 18;      // at most 4 MB of keys; grows from 4096 slots, emptied at half load
        private readonly BpeTokenizer _tok;

        /// <summary>This thread's pre-tokenizer (its own regex instance, see the constructor of BpeTokenizer).</summary>
        public PreTokenizer Pre { get; }
        private UInt128[] _shortKey = new UInt128[4096];
        private byte[] _shortLen = new byte[4096];      // 0 = empty slot (chunks are never empty)
        private int[]?[] _shortIds = new int[]?[4096];
        private int _shortMask = 4095;
        private int _shortCount;
        private readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;
        private byte[] _bytes = new byte[1024];
        private int[] _ids = new int[1024];

        public EncodeState(BpeTokenizer tok, PreTokenizer pre)
        {
            _tok = tok;
            Pre = pre;
            _lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public void Clear()
        {
            _cache.Clear();
            Array.Clear(_shortLen);
            Array.Clear(_shortIds);
            _shortCount = 0;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static UInt128 Pack(ReadOnlySpan<char> chunk)
        {
            UInt128 key = 0;
            MemoryMarshal.AsBytes(chunk).CopyTo(MemoryMarshal.AsBytes(new Span<UInt128>(ref key)));
            return key;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static int Hash(UInt128 key, int len)
        {
            ulong h = ((ulong)key * 0x9E3779B97F4A7C15UL) ^ ((ulong)(key >> 64) * 0xC2B2AE3D27D4EB4FUL) ^ (ulong)len;
            h ^= h >> 29;
            return (int)(h * 0x94D049BB133111EBUL >> 40);
        }

        // Doubles the table twice (rehashing) until it reaches MaxShortSlots, then empties it instead.
        private void MakeRoom()
        {
            if (_shortKey.Length >= MaxShortSlots)
            {
                Array.Clear(_shortLen);
                Array.Clear(_shortIds);
                _shortCount = 0;
                return;
            }
            var (keys, lens, ids) = (_shortKey, _shortLen, _shortIds);
            int size = keys.Length * 4;
            _shortKey = new UInt128[size];
            _shortLen = new byte[size];
            _shortIds = new int[]?[size];
            _shortMask = size - 1;
            for (int i = 0; i < keys.Length; i++)
            {
                if (lens[i] == 0) continue;
                int s = Hash(keys[i], lens[i]) & _shortMask;
                while (_shortLen[s] != 0) s = (s + 1) & _shortMask;
                _shortKey[s] = keys[i];
                _shortLen[s] = lens[i];
                _shortIds[s] = ids[i];
            }
        }

        public void EncodeChunk(ReadOnlySpan<char> chunk, List<int> output)
        {
            int len = chunk.Length;
            UInt128 key = default;
            int slot = -1;
            if (len <= 8)
            {
                key = Pack(chunk);
                slot = Hash(key, len) & _shortMask;
                while (true)
                {
                    byte l = _shortLen[slot];
                    if (l == 0) break;
                    if (l == len && _shortKey[slot] == key)
                    {
                        var hit = _shortIds[slot]!;
                        if (hit.Length == 1) output.Add(hit[0]); else output.AddRange(hit);
                        return;
                    }
                    slot = (slot + 1) & _shortMask;
                }
            }
            else if (len <= MaxCachedChunkChars && _lookup.TryGetValue(chunk, out var hit))
            {
                output.AddRange(hit);
                return;
            }
            int max = Encoding.UTF8.GetMaxByteCount(len);
            if (_bytes.Length < max) { _bytes = new byte[max]; _ids = new int[max]; }
            int nb = Encoding.UTF8.GetBytes(chunk, _bytes);
            var ids = _ids.AsSpan(0, nb);
            var map = _tok._byteToId;
            for (int i = 0; i < nb; i++) ids[i] = map[_bytes[i]];
            if (_tok.MissingBytes != 0) ids = ids[..DropMissing(ids)];
            int n = BpeMerge.Merge(_tok._pairs, ids);
            var result = ids[..n];
            output.AddRange(result);
            if (slot >= 0)
            {
                if (_shortCount >= _shortKey.Length / 2)
                {
                    MakeRoom();
                    slot = Hash(key, len) & _shortMask;
                    while (_shortLen[slot] != 0) slot = (slot + 1) & _shortMask;
                }
                _shortKey[slot] = key;
                _shortLen[slot] = (byte)len;
                _shortIds[slot] = result.ToArray();
                _shortCount++;
            }
            else if (len <= MaxCachedChunkChars)
            {
                if (_cache.Count >= MaxCacheEntries) _cache.Clear();
                _cache[chunk.ToString()] = result.ToArray();
            }
        }
    }

    /// <summary>Empties every thread's chunk cache (for cold-cache measurements; encoding is unaffected).</summary>
    public void ClearCache()
    {
        foreach (var st in _state.Values) st.Clear();
    }

    // ---------------------------------------------------------------- decode

    /// <summary>The bytes of a token sequence (special tokens decode to their text).</summary>
    public byte[] Decode(ReadOnlySpan<int> ids)
    {
        int total = 0;
        for (int i = 0; i < ids.Length; i++) total += TokenLength(ids[i]);
        var result = new byte[total];
        int pos = 0;
        for (int i = 0; i < ids.Length; i++) pos += WriteToken(ids[i], result.AsSpan(pos));
        return result;
    }

    /// <summary>The text of a token sequence; invalid UTF-8 becomes U+FFFD.</summary>
    public string DecodeToString(ReadOnlySpan<int> ids) => Encoding.UTF8.GetString(Decode(ids));

    /// <summary>Number of bytes <paramref name="id"/> decodes to.</summary>
    public int TokenLength(int id)
    {
        if ((uint)id >= (uint)_tokenBytes.Length) throw new ArgumentOutOfRangeException(nameof(id), $"token id {id} is outside the vocabulary (0..{_tokenBytes.Length - 1})");
        if (_tokenBytes[id] is { } b) return b.Length;
        if (_specialById[id] is { } s) return Encoding.UTF8.GetByteCount(s);
        throw new ArgumentOutOfRangeException(nameof(id), $"token id {id} is not assigned in this vocabulary");
    }

    /// <summary>Writes the bytes of <paramref name="id"/> to <paramref name="dst"/>; returns the count.</summary>
    public int WriteToken(int id, Span<byte> dst)
    {
        int len = TokenLength(id);
        if (_tokenBytes[id] is { } b) b.CopyTo(dst);
        else Encoding.UTF8.GetBytes(_specialById[id]!, dst);
        return len;
    }

    /// <summary>An incremental decoder that returns only complete UTF-8 characters (for streaming output).</summary>
    public Utf8StreamDecoder CreateStreamDecoder() => new(this);

    /// <summary>The id of a token given its bytes, or -1.</summary>
    public int TokenToId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 1) return _byteToId[bytes[0]];
        // rare path: a linear scan is fine for tools and tests
        for (int i = 0; i < _tokenBytes.Length; i++)
            if (_tokenBytes[i] is { } b && bytes.SequenceEqual(b)) return i;
        return -1;
    }

    internal IReadOnlyList<byte[]?> TokenTable => _tokenBytes;
}

/// <summary>Decodes a stream of token ids to text, emitting only complete UTF-8 characters; bytes of a character split
/// across tokens are held until the character completes. Invalid sequences become U+FFFD. Not thread-safe.</summary>
public sealed class Utf8StreamDecoder
{
    private readonly BpeTokenizer _tok;
    private readonly Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();
    private byte[] _buf = new byte[64];
    private char[] _chars = new char[64];

    internal Utf8StreamDecoder(BpeTokenizer tok) => _tok = tok;

    /// <summary>Adds one token; returns the text that is now complete (possibly empty).</summary>
    public string Add(int id)
    {
        int len = _tok.TokenLength(id);
        if (_buf.Length < len) _buf = new byte[len * 2];
        _tok.WriteToken(id, _buf);
        return Push(_buf.AsSpan(0, len), flush: false);
    }

    /// <summary>Ends the stream: returns U+FFFD for any incomplete trailing bytes and resets.</summary>
    public string Flush() => Push([], flush: true);

    private string Push(ReadOnlySpan<byte> bytes, bool flush)
    {
        int max = bytes.Length + 4; // a byte yields at most one char, plus held bytes flushed as U+FFFD
        if (_chars.Length < max) _chars = new char[max * 2];
        int n = _utf8.GetChars(bytes, _chars, flush);
        return n == 0 ? string.Empty : new string(_chars, 0, n);
    }
}
