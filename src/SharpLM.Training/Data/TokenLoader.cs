// Pretraining data loader: batches of (B, T+1) token windows over a set of token shards; row b of a batch
// is inputs x = w[0..T) and targets y = w[1..T+1) (the llm.c / nanoGPT convention).
//
// Windows ("slots") are fixed by the shards and options, never by the history of the run:
//   * unaligned: every shard is cut at offsets 0, T, 2T, … (each window overlaps the next by one token,
//     so every token after the first is a target exactly once per epoch); a window never crosses a shard;
//   * aligned to documents: each document is cut at its start and then every T tokens inside it, so every
//     row begins at a document start (BOS) or a T-multiple into one; a window may run on into the next
//     document of the same shard (packing, as GPT-2 training does).
// Order: sequential, or random without replacement — slot j of epoch e is Permute(j), a seeded Feistel
// bijection on [0, slots) (cycle-walking; Black & Rogaway 2002, "Ciphers with Arbitrary Finite Domains"),
// re-keyed each epoch. So the loader's whole state is (epoch, row): LoaderPosition, which a checkpoint
// stores to resume bit for bit. Data-parallel ranks take interleaved slots (j = row·world + rank).
// NextBatch copies into a caller span or int32 tensor and allocates nothing.
// Not here: the validation split is simply a second loader over the val_* shards (Find + Sequential).
namespace SharpLM.Training.Data;

/// <summary>Order in which windows are visited.</summary>
public enum SamplingMode
{
    /// <summary>Shard by shard, front to back.</summary>
    Sequential,
    /// <summary>A seeded permutation of all windows, new each epoch.</summary>
    Random,
}

/// <summary>Loader settings.</summary>
/// <param name="BatchSize">Rows per batch (B).</param>
/// <param name="SeqLen">Tokens per row fed to the model (T); each row holds T+1 tokens.</param>
/// <param name="Mode">Sequential or random order.</param>
/// <param name="Seed">Seed of the random order.</param>
/// <param name="AlignToDocuments">Start rows at document starts (and T-multiples inside documents).</param>
/// <param name="Rank">This process's data-parallel rank.</param>
/// <param name="WorldSize">Number of data-parallel ranks.</param>
public sealed record LoaderOptions(int BatchSize, int SeqLen, SamplingMode Mode = SamplingMode.Random, ulong Seed = 1337,
                                   bool AlignToDocuments = false, int Rank = 0, int WorldSize = 1);

/// <summary>Where a loader stands: enough, with the same shards and options, to continue bit for bit.</summary>
/// <param name="Epoch">Completed passes over the data.</param>
/// <param name="Row">Rows this rank has taken in the current epoch.</param>
/// <param name="SlotCount">Number of windows in the shard set (guards against resuming on other data).</param>
/// <param name="Options">The options the position belongs to.</param>
public sealed record LoaderPosition(long Epoch, long Row, long SlotCount, LoaderOptions Options);

/// <summary>Deterministic, resumable batches of (B, T+1) token windows over token shards.</summary>
public sealed class TokenLoader : IDisposable
{
    private readonly TokenShard[] _shards;
    private readonly long[] _slotStart;      // cumulative slot count before shard s (length shards+1)
    private readonly long[]?[] _alignedStarts; // per shard window starts when aligned; null when unaligned
    private readonly long _rowsPerEpoch;
    private long _epoch, _row;
    private FeistelPermutation _perm;

    /// <summary>Options in force.</summary>
    public LoaderOptions Options { get; }
    /// <summary>Number of windows across all shards.</summary>
    public long SlotCount => _slotStart[^1];
    /// <summary>Rows this rank takes per epoch.</summary>
    public long RowsPerEpoch => _rowsPerEpoch;
    /// <summary>The shards, in the order given.</summary>
    public IReadOnlyList<TokenShard> Shards => _shards;
    /// <summary>Current position (for checkpoints).</summary>
    public LoaderPosition Position => new(_epoch, _row, SlotCount, Options);

    /// <summary>Opens <paramref name="shardPaths"/> (each a .bin with its .idx) and indexes their windows.</summary>
    public TokenLoader(IReadOnlyList<string> shardPaths, LoaderOptions options)
    {
        if (options.BatchSize <= 0) throw new ArgumentException($"batch size must be > 0, got {options.BatchSize}");
        if (options.SeqLen <= 0) throw new ArgumentException($"sequence length must be > 0, got {options.SeqLen}");
        if (options.WorldSize <= 0 || options.Rank < 0 || options.Rank >= options.WorldSize)
            throw new ArgumentException($"rank {options.Rank} is not in [0, world size {options.WorldSize})");
        if (shardPaths.Count == 0) throw new ArgumentException("no token shards given");
        Options = options;
        _shards = new TokenShard[shardPaths.Count];
        try
        {
            for (int i = 0; i < _shards.Length; i++) _shards[i] = TokenShard.Open(shardPaths[i]);
        }
        catch
        {
            foreach (var s in _shards) s?.Dispose();
            throw;
        }
        int T = options.SeqLen;
        _slotStart = new long[_shards.Length + 1];
        _alignedStarts = new long[]?[_shards.Length];
        for (int s = 0; s < _shards.Length; s++)
        {
            long n;
            if (options.AlignToDocuments)
            {
                var starts = AlignedStarts(_shards[s], T);
                _alignedStarts[s] = starts;
                n = starts.Length;
            }
            else n = _shards[s].TokenCount >= T + 1 ? (_shards[s].TokenCount - 1) / T : 0;
            _slotStart[s + 1] = _slotStart[s] + n;
        }
        _rowsPerEpoch = SlotCount / options.WorldSize;
        if (_rowsPerEpoch == 0)
        {
            Dispose();
            throw new ArgumentException($"the {_shards.Length} shard(s) hold {SlotCount} windows of {T + 1} tokens, fewer than the {options.WorldSize} rank(s) need; use shorter sequences or more data");
        }
        _perm = new FeistelPermutation(SlotCount, options.Seed, 0);
    }

    /// <summary>The shards in <paramref name="dir"/> whose names start with <paramref name="prefix"/> (e.g. "train_", "val_"), sorted by name.</summary>
    public static string[] Find(string dir, string prefix)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: token shard directory not found");
        var files = Directory.GetFiles(dir, prefix + "*.bin");
        Array.Sort(files, StringComparer.Ordinal);
        if (files.Length == 0) throw new FileNotFoundException($"{dir}: no token shards named {prefix}*.bin");
        return files;
    }

    private static long[] AlignedStarts(TokenShard sh, int T)
    {
        var list = new List<long>();
        for (long d = 0; d < sh.DocumentCount; d++)
        {
            long a = sh.DocumentStart(d), e = sh.DocumentEnd(d);
            for (long off = a; off < e && off + T + 1 <= sh.TokenCount; off += T) list.Add(off);
        }
        return list.ToArray();
    }

    /// <summary>Fills <paramref name="dst"/> (length B·(T+1), rows contiguous) with the next batch.</summary>
    public void NextBatch(Span<int> dst)
    {
        int B = Options.BatchSize, W = Options.SeqLen + 1;
        if (dst.Length != B * W) throw new ArgumentException($"batch buffer holds {dst.Length} ints; (B, T+1) = ({B}, {W}) needs {B * W}");
        for (int b = 0; b < B; b++)
        {
            if (_row == _rowsPerEpoch)
            {
                _epoch++;
                _row = 0;
                _perm = new FeistelPermutation(SlotCount, Options.Seed, _epoch);
            }
            long j = _row * Options.WorldSize + Options.Rank;
            long slot = Options.Mode == SamplingMode.Random ? _perm.Map(j) : j;
            _row++;
            var (shard, start) = Locate(slot);
            shard.CopyTokens(start, dst.Slice(b * W, W));
        }
    }

    /// <summary>Fills a contiguous int32 tensor of shape (B, T+1) with the next batch.</summary>
    public void NextBatch(SharpLM.Tensors.Tensor dst)
    {
        if (dst.DType != SharpLM.Tensors.DType.I32 || dst.Rank != 2 || dst.Dim(0) != Options.BatchSize || dst.Dim(1) != Options.SeqLen + 1)
            throw new ArgumentException($"batch tensor must be I32 of shape ({Options.BatchSize}, {Options.SeqLen + 1}), got {dst}");
        NextBatch(dst.AsSpan<int>());
    }

    /// <summary>Shard and start offset of window <paramref name="slot"/>.</summary>
    internal (TokenShard Shard, long Start) Locate(long slot)
    {
        int lo = 0, hi = _shards.Length - 1;
        while (lo < hi) // last s with _slotStart[s] <= slot
        {
            int mid = (lo + hi + 1) >> 1;
            if (_slotStart[mid] <= slot) lo = mid; else hi = mid - 1;
        }
        while (_slotStart[lo + 1] <= slot) lo++; // skip shards with no windows
        long k = slot - _slotStart[lo];
        var starts = _alignedStarts[lo];
        return (_shards[lo], starts != null ? starts[k] : k * Options.SeqLen);
    }

    /// <summary>Back to the first batch of epoch 0 (for repeated validation passes).</summary>
    public void Reset()
    {
        _epoch = 0;
        _row = 0;
        _perm = new FeistelPermutation(SlotCount, Options.Seed, 0);
    }

    /// <summary>Continues from a checkpointed position; throws naming what differs if it belongs to other data or options.</summary>
    public void Restore(LoaderPosition p)
    {
        if (p.Options != Options) throw new ArgumentException($"cannot resume the data loader: checkpoint options {p.Options} differ from {Options}");
        if (p.SlotCount != SlotCount) throw new ArgumentException($"cannot resume the data loader: checkpoint was taken over {p.SlotCount} windows, these shards hold {SlotCount}");
        if (p.Epoch < 0 || p.Row < 0 || p.Row > _rowsPerEpoch) throw new ArgumentException($"cannot resume the data loader: position epoch {p.Epoch} row {p.Row} is out of range (rows per epoch {_rowsPerEpoch})");
        _epoch = p.Epoch;
        _row = p.Row;
        _perm = new FeistelPermutation(SlotCount, Options.Seed, _epoch);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var s in _shards) s?.Dispose();
    }
}

/// <summary>
/// A seeded bijection on [0, n): a 4-round balanced Feistel network on the smallest even number of bits
/// covering n, with cycle-walking to stay inside [0, n). Round keys come from SplitMix64 (Steele et al. 2014).
/// </summary>
internal readonly struct FeistelPermutation
{
    private readonly long _n;
    private readonly int _half;
    private readonly ulong _mask, _k0, _k1, _k2, _k3;

    public FeistelPermutation(long n, ulong seed, long epoch)
    {
        _n = n;
        int bits = 2;
        while (bits < 62 && (1L << bits) < n) bits += 2;
        _half = bits / 2;
        _mask = (1UL << _half) - 1;
        ulong s = SplitMix(seed ^ SplitMix((ulong)epoch + 0x9E3779B97F4A7C15UL));
        _k0 = SplitMix(s + 1); _k1 = SplitMix(s + 2); _k2 = SplitMix(s + 3); _k3 = SplitMix(s + 4);
    }

    public long Map(long x)
    {
        if ((ulong)x >= (ulong)_n) throw new ArgumentOutOfRangeException(nameof(x), $"{x} is outside [0, {_n})");
        ulong y = (ulong)x;
        do y = Encrypt(y); while (y >= (ulong)_n);
        return (long)y;
    }

    private ulong Encrypt(ulong x)
    {
        ulong l = x >> _half, r = x & _mask;
        (l, r) = (r, l ^ (SplitMix(r ^ _k0) & _mask));
        (l, r) = (r, l ^ (SplitMix(r ^ _k1) & _mask));
        (l, r) = (r, l ^ (SplitMix(r ^ _k2) & _mask));
        (l, r) = (r, l ^ (SplitMix(r ^ _k3) & _mask));
        return (l << _half) | r;
    }

    /// <summary>SplitMix64 finaliser (the output function of java.util.SplittableRandom).</summary>
    internal static ulong SplitMix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
