// Streaming writer of one token shard (.bin + .idx, layout in TokenShardFormat.cs). Documents are appended
// one at a time and written through buffered streams to temporary files beside the targets; Complete()
// patches the headers, flushes to disk and renames .idx then .bin into place (a crash in between leaves an
// .idx whose checksum matches no .bin, which the reader refuses). Disposing without Complete() deletes the
// temporaries. Not here: tokenisation (the tokenizer stage produces the ids), multi-shard splitting.
using System.Buffers.Binary;
using SharpLM.Models.IO;

namespace SharpLM.Training.Data;

/// <summary>Writes documents of token ids into a new .bin/.idx shard pair.</summary>
public sealed class TokenShardWriter : IDisposable
{
    private readonly string _binPath, _idxPath, _binTmp, _idxTmp;
    private readonly FileStream _bin, _idx;
    private readonly byte[] _buf = new byte[1 << 16];
    private ulong _tokenSum = TokenShardFormat.ChecksumSeed;
    private readonly List<long> _ends = [];
    private long _tokens, _docs;
    private bool _done;

    /// <summary>Vocabulary size: every token must be in [0, VocabSize).</summary>
    public int VocabSize { get; }
    /// <summary>Bytes per token in the file (2 or 4).</summary>
    public int Width { get; }
    /// <summary>Tokens written so far.</summary>
    public long TokenCount => _tokens;
    /// <summary>Documents written so far.</summary>
    public long DocumentCount => _docs;

    /// <summary>Starts a shard at <paramref name="binPath"/> (the .idx goes beside it); uint16 tokens when <paramref name="vocabSize"/> ≤ 65536.</summary>
    public TokenShardWriter(string binPath, int vocabSize)
    {
        if (vocabSize <= 0) throw new ArgumentException($"{binPath}: vocab size must be > 0, got {vocabSize}");
        _binPath = Path.GetFullPath(binPath);
        _idxPath = TokenShardFormat.IndexPathFor(_binPath);
        Directory.CreateDirectory(Path.GetDirectoryName(_binPath)!);
        VocabSize = vocabSize;
        Width = TokenShardFormat.WidthFor(vocabSize);
        _binTmp = AtomicFile.TempName(_binPath);
        _idxTmp = AtomicFile.TempName(_idxPath);
        _bin = new FileStream(_binTmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _idx = new FileStream(_idxTmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _bin.Write(new byte[TokenShardFormat.HeaderBytes]); // patched in Complete()
        _idx.Write(new byte[TokenShardFormat.HeaderBytes]);
    }

    /// <summary>Appends one document; every id must be in [0, VocabSize).</summary>
    public void AddDocument(ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        int per = _buf.Length / Width, i = 0;
        while (i < tokens.Length)
        {
            int n = Math.Min(per, tokens.Length - i);
            var chunk = tokens.Slice(i, n);
            for (int k = 0; k < n; k++)
            {
                int t = chunk[k];
                if ((uint)t >= (uint)VocabSize) throw new ArgumentException($"{_binPath}: token {t} at position {i + k} of document {_docs} is outside the vocabulary [0, {VocabSize})");
                _tokenSum = TokenShardFormat.Checksum(_tokenSum, (ulong)t);
                if (Width == 2) BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(k * 2), (ushort)t);
                else BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(k * 4), (uint)t);
            }
            _bin.Write(_buf, 0, n * Width);
            i += n;
        }
        _tokens += tokens.Length;
        _docs++;
        Span<byte> end = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(end, (ulong)_tokens);
        _idx.Write(end);
        _ends.Add(_tokens);
    }

    /// <summary>Finishes the headers, flushes and renames both files into place.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        ulong tag = _tokenSum;
        foreach (long e in _ends) tag = TokenShardFormat.Checksum(tag, (ulong)e);
        Span<byte> h = stackalloc byte[TokenShardFormat.HeaderBytes];
        h.Clear();
        TokenShardFormat.BinMagic.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], TokenShardFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)Width);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], (ulong)_tokens);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], (ulong)_docs);
        BinaryPrimitives.WriteUInt32LittleEndian(h[32..], (uint)VocabSize);
        BinaryPrimitives.WriteUInt64LittleEndian(h[40..], tag);
        _bin.Position = 0;
        _bin.Write(h);
        _bin.Flush(flushToDisk: true);

        h.Clear();
        TokenShardFormat.IdxMagic.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], TokenShardFormat.Version);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], (ulong)_docs);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], (ulong)_tokens);
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], tag);
        _idx.Position = 0;
        _idx.Write(h);
        _idx.Flush(flushToDisk: true);

        _bin.Dispose();
        _idx.Dispose();
        File.Move(_idxTmp, _idxPath, overwrite: true);
        File.Move(_binTmp, _binPath, overwrite: true);
        _done = true;
    }

    /// <summary>Abandons an unfinished shard (temporaries deleted); no-op after <see cref="Complete"/>.</summary>
    public void Dispose()
    {
        if (_done) return;
        _done = true;
        _bin.Dispose();
        _idx.Dispose();
        File.Delete(_binTmp);
        File.Delete(_idxTmp);
    }
}
