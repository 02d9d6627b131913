// Memory-mapped reader of one token shard (.bin + .idx, layout in TokenShardFormat.cs). Open() checks
// both headers, the exact file sizes, that the two files belong together (token count, document count,
// checksum) and that the document ends are non-decreasing and end at the token count; anything else is
// refused with the file name and what was wrong. VerifyTokens() additionally scans every token (range and
// checksum) — O(N), so it is not done on open. Token reads widen uint16/uint32 to int32 into caller
// spans without allocating. Not here: batching (TokenLoader), writing (TokenShardWriter).
using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpLM.Training.Data;

/// <summary>A read-only, memory-mapped token shard.</summary>
public sealed unsafe class TokenShard : IDisposable
{
    private readonly MappedFile _bin, _idx;
    private readonly byte* _tokens;   // first token
    private readonly byte* _ends;     // first document end (u64)

    /// <summary>The .bin path.</summary>
    public string Path { get; }
    /// <summary>The .idx path.</summary>
    public string IndexPath { get; }
    /// <summary>Number of tokens.</summary>
    public long TokenCount { get; }
    /// <summary>Number of documents.</summary>
    public long DocumentCount { get; }
    /// <summary>Bytes per token (2 or 4).</summary>
    public int Width { get; }
    /// <summary>Vocabulary size recorded by the writer.</summary>
    public int VocabSize { get; }
    /// <summary>Checksum recorded in both headers.</summary>
    public ulong Checksum { get; }

    private TokenShard(string path, string idxPath, MappedFile bin, MappedFile idx, long tokens, long docs, int width, int vocab, ulong checksum)
    {
        Path = path; IndexPath = idxPath; _bin = bin; _idx = idx; TokenCount = tokens; DocumentCount = docs; Width = width; VocabSize = vocab; Checksum = checksum;
        _tokens = bin.Pointer + TokenShardFormat.HeaderBytes;
        _ends = idx.Pointer + TokenShardFormat.HeaderBytes;
    }

    /// <summary>Opens <paramref name="binPath"/> and the .idx beside it; throws <see cref="InvalidDataException"/> naming the file on any inconsistency.</summary>
    public static TokenShard Open(string binPath)
    {
        string idxPath = TokenShardFormat.IndexPathFor(binPath);
        if (!File.Exists(binPath)) throw new FileNotFoundException($"{binPath}: token shard not found", binPath);
        if (!File.Exists(idxPath)) throw new FileNotFoundException($"{idxPath}: document index of {binPath} not found", idxPath);
        MappedFile? bin = null, idx = null;
        try
        {
            bin = MappedFile.Open(binPath);
            idx = MappedFile.Open(idxPath);
            var (tokens, docs, width, vocab, sum) = CheckBin(binPath, bin);
            CheckIdx(idxPath, idx, binPath, tokens, docs, sum);
            var shard = new TokenShard(binPath, idxPath, bin, idx, tokens, docs, width, vocab, sum);
            shard.CheckEnds();
            return shard;
        }
        catch
        {
            bin?.Dispose();
            idx?.Dispose();
            throw;
        }
    }

    private static (long, long, int, int, ulong) CheckBin(string path, MappedFile f)
    {
        if (f.Length < TokenShardFormat.HeaderBytes) throw new InvalidDataException($"{path}: truncated token shard: {f.Length} bytes, the header alone needs {TokenShardFormat.HeaderBytes}");
        var h = new ReadOnlySpan<byte>(f.Pointer, TokenShardFormat.HeaderBytes);
        if (!h[..8].SequenceEqual(TokenShardFormat.BinMagic)) throw new InvalidDataException($"{path}: not a SharpLM token shard (bad magic; expected \"SLMTOKS\")");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
        if (version != TokenShardFormat.Version) throw new InvalidDataException($"{path}: token shard version {version} is not supported (expected {TokenShardFormat.Version})");
        uint width = BinaryPrimitives.ReadUInt32LittleEndian(h[12..]);
        if (width != 2 && width != 4) throw new InvalidDataException($"{path}: header field 'token width' is {width}; expected 2 (uint16) or 4 (uint32)");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(h[16..]);
        ulong d = BinaryPrimitives.ReadUInt64LittleEndian(h[24..]);
        uint vocab = BinaryPrimitives.ReadUInt32LittleEndian(h[32..]);
        if (vocab == 0 || vocab > int.MaxValue || (width == 2 && vocab > TokenShardFormat.MaxUInt16Vocab))
            throw new InvalidDataException($"{path}: header field 'vocab size' is {vocab}; expected 1..{(width == 2 ? TokenShardFormat.MaxUInt16Vocab : int.MaxValue)} for {width}-byte tokens");
        if (n > long.MaxValue / 8 || d > long.MaxValue / 8) throw new InvalidDataException($"{path}: header counts are implausible (tokens {n}, documents {d})");
        long expect = TokenShardFormat.HeaderBytes + (long)n * width;
        if (f.Length != expect)
            throw new InvalidDataException(f.Length < expect
                ? $"{path}: truncated token shard: header says {n} tokens × {width} bytes = {expect} bytes, file has {f.Length}"
                : $"{path}: {f.Length - expect} unexpected trailing bytes: header says {n} tokens × {width} bytes = {expect} bytes, file has {f.Length}");
        return ((long)n, (long)d, (int)width, (int)vocab, BinaryPrimitives.ReadUInt64LittleEndian(h[40..]));
    }

    private static void CheckIdx(string path, MappedFile f, string binPath, long tokens, long docs, ulong sum)
    {
        if (f.Length < TokenShardFormat.HeaderBytes) throw new InvalidDataException($"{path}: truncated document index: {f.Length} bytes, the header alone needs {TokenShardFormat.HeaderBytes}");
        var h = new ReadOnlySpan<byte>(f.Pointer, TokenShardFormat.HeaderBytes);
        if (!h[..8].SequenceEqual(TokenShardFormat.IdxMagic)) throw new InvalidDataException($"{path}: not a SharpLM document index (bad magic; expected \"SLMIDX\")");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
        if (version != TokenShardFormat.Version) throw new InvalidDataException($"{path}: document index version {version} is not supported (expected {TokenShardFormat.Version})");
        ulong d = BinaryPrimitives.ReadUInt64LittleEndian(h[16..]);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(h[24..]);
        ulong s = BinaryPrimitives.ReadUInt64LittleEndian(h[32..]);
        if ((long)d != docs || (long)n != tokens)
            throw new InvalidDataException($"{path}: does not belong to {binPath}: index says {d} documents / {n} tokens, shard says {docs} / {tokens}");
        if (s != sum) throw new InvalidDataException($"{path}: does not belong to {binPath}: checksum {s:x16} differs from the shard's {sum:x16}");
        long expect = TokenShardFormat.HeaderBytes + docs * 8;
        if (f.Length != expect)
            throw new InvalidDataException(f.Length < expect
                ? $"{path}: truncated document index: {docs} documents need {expect} bytes, file has {f.Length}"
                : $"{path}: {f.Length - expect} unexpected trailing bytes after {docs} document ends");
    }

    private void CheckEnds()
    {
        long prev = 0;
        for (long d = 0; d < DocumentCount; d++)
        {
            long e = DocumentEnd(d);
            if (e < prev || e > TokenCount)
                throw new InvalidDataException($"{IndexPath}: document end {d} is {e}; ends must be non-decreasing and ≤ the {TokenCount} tokens (previous end {prev})");
            prev = e;
        }
        if (prev != TokenCount) throw new InvalidDataException($"{IndexPath}: the last document ends at {prev} but the shard has {TokenCount} tokens");
    }

    /// <summary>End offset (exclusive, in tokens) of document <paramref name="d"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long DocumentEnd(long d)
    {
        if ((ulong)d >= (ulong)DocumentCount) throw new ArgumentOutOfRangeException(nameof(d), $"{Path}: document {d} out of range [0, {DocumentCount})");
        return (long)BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(_ends + d * 8, 8));
    }

    /// <summary>Start offset (in tokens) of document <paramref name="d"/>.</summary>
    public long DocumentStart(long d) => d == 0 ? 0 : DocumentEnd(d - 1);

    /// <summary>Token at position <paramref name="i"/>.</summary>
    public int Token(long i)
    {
        if ((ulong)i >= (ulong)TokenCount) throw new ArgumentOutOfRangeException(nameof(i), $"{Path}: token {i} out of range [0, {TokenCount})");
        return Width == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(_tokens + i * 2, 2))
                          : (int)BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(_tokens + i * 4, 4));
    }

    /// <summary>Copies tokens [<paramref name="start"/>, start + dst.Length) into <paramref name="dst"/> as int32.</summary>
    public void CopyTokens(long start, Span<int> dst)
    {
        if (start < 0 || start + dst.Length > TokenCount)
            throw new ArgumentOutOfRangeException(nameof(start), $"{Path}: tokens [{start}, {start + dst.Length}) out of range [0, {TokenCount})");
        if (Width == 2)
        {
            ushort* p = (ushort*)(_tokens + start * 2);
            if (BitConverter.IsLittleEndian) WidenUInt16(new ReadOnlySpan<ushort>(p, dst.Length), dst);
            else for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReverseEndianness(p[i]);
        }
        else
        {
            uint* p = (uint*)(_tokens + start * 4);
            if (BitConverter.IsLittleEndian) new ReadOnlySpan<int>(p, dst.Length).CopyTo(dst); // ids < VocabSize ≤ int.MaxValue
            else for (int i = 0; i < dst.Length; i++) dst[i] = (int)BinaryPrimitives.ReverseEndianness(p[i]);
        }
    }

    /// <summary>uint16 → int32 zero-extension, 16 at a time with a scalar tail (the scalar loop is the oracle).</summary>
    internal static void WidenUInt16(ReadOnlySpan<ushort> src, Span<int> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException($"destination holds {dst.Length} ints, source has {src.Length} tokens");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort s0 = ref MemoryMarshal.GetReference(src);
            ref int d0 = ref MemoryMarshal.GetReference(dst);
            for (; i + 16 <= src.Length; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref s0, (nuint)i));
                lo.AsInt32().StoreUnsafe(ref d0, (nuint)i);
                hi.AsInt32().StoreUnsafe(ref d0, (nuint)(i + 8));
            }
        }
        for (; i < src.Length; i++) dst[i] = src[i];
    }

    /// <summary>Scans every token: each must be below <see cref="VocabSize"/> and the checksum must match. Throws naming the file and position.</summary>
    public void VerifyTokens()
    {
        ulong h = TokenShardFormat.ChecksumSeed;
        Span<int> buf = stackalloc int[4096];
        for (long pos = 0; pos < TokenCount; pos += buf.Length)
        {
            var chunk = buf[..(int)Math.Min(buf.Length, TokenCount - pos)];
            CopyTokens(pos, chunk);
            for (int i = 0; i < chunk.Length; i++)
            {
                uint t = (uint)chunk[i];
                if (t >= (uint)VocabSize) throw new InvalidDataException($"{Path}: token {t} at position {pos + i} is outside the vocabulary [0, {VocabSize})");
                h = TokenShardFormat.Checksum(h, t);
            }
        }
        for (long d = 0; d < DocumentCount; d++) h = TokenShardFormat.Checksum(h, (ulong)DocumentEnd(d));
        if (h != Checksum) throw new InvalidDataException($"{Path}: checksum mismatch: header says {Checksum:x16}, contents hash to {h:x16} (tokens or document ends changed)");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _bin.Dispose();
        _idx.Dispose();
    }

    /// <summary>A read-only memory map of a whole file (an empty file is mapped as length 0 without a map).</summary>
    internal sealed class MappedFile : IDisposable
    {
        private readonly MemoryMappedFile? _map;
        private readonly MemoryMappedViewAccessor? _view;
        private bool _disposed;
        public byte* Pointer { get; }
        public long Length { get; }

        private MappedFile(MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* p, long length)
        {
            _map = map; _view = view; Pointer = p; Length = length;
        }

        public static MappedFile Open(string path)
        {
            long len = new FileInfo(path).Length;
            if (len == 0) return new MappedFile(null, null, null, 0);
            var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            try
            {
                var view = map.CreateViewAccessor(0, len, MemoryMappedFileAccess.Read);
                byte* p = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
                return new MappedFile(map, view, p + view.PointerOffset, len);
            }
            catch
            {
                map.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_view != null)
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _view.Dispose();
            }
            _map?.Dispose();
        }
    }
}
