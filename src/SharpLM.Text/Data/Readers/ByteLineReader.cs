// A buffered byte reader for line-oriented inputs (JSONL, WARC headers): hands out each line as a span
// of the internal buffer without decoding it, and reads exact-length blocks (WARC record bodies).
// Lines longer than a cap fail with a clear error instead of growing memory without bound.
using System.Buffers;

namespace SharpLM.Text.Data.Readers;

/// <summary>Reads '\n'-terminated lines and fixed-size blocks from a stream.</summary>
internal sealed class ByteLineReader(Stream stream, int maxLineBytes) : IDisposable
{
    private byte[] _buf = ArrayPool<byte>.Shared.Rent(1 << 16);
    private int _start, _end;
    private bool _eof;

    /// <summary>Byte offset (in the decompressed stream) of the next unread byte.</summary>
    public long Position { get; private set; }

    /// <summary>Next line without its '\n' (and without a trailing '\r'); false at end of stream.</summary>
    /// <exception cref="LineTooLongException">The line exceeds the cap; the rest of it is skipped.</exception>
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        int scanned = 0; // bytes after _start already searched (Fill may move _start)
        while (true)
        {
            int nl = _buf.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                int lineEnd = _start + scanned + nl;
                line = Trim(_buf.AsSpan(_start, lineEnd - _start));
                Position += lineEnd + 1 - _start;
                _start = lineEnd + 1;
                if (line.Length > maxLineBytes) throw new LineTooLongException(maxLineBytes);
                return true;
            }
            if (_eof)
            {
                if (_start == _end) { line = default; return false; }
                line = Trim(_buf.AsSpan(_start, _end - _start));
                Position += _end - _start;
                _start = _end;
                return true;
            }
            if (_end - _start >= maxLineBytes)
            {
                SkipRestOfLine();
                throw new LineTooLongException(maxLineBytes);
            }
            scanned = _end - _start;
            Fill();
        }
    }

    private static ReadOnlySpan<byte> Trim(Span<byte> s) => s.Length > 0 && s[^1] == (byte)'\r' ? s[..^1] : s;

    private void SkipRestOfLine()
    {
        Position += _end - _start;
        _start = _end = 0;
        while (!_eof)
        {
            Fill();
            int nl = _buf.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl >= 0) { Position += nl + 1; _start += nl + 1; return; }
            Position += _end - _start;
            _start = _end = 0;
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (fewer only at end of stream).</summary>
    public byte[] ReadBlock(long count)
    {
        if (count > int.MaxValue) throw new InvalidDataException($"block of {count} bytes is too large");
        var block = new byte[count];
        int got = 0;
        while (got < count)
        {
            if (_start == _end) { if (_eof) break; Fill(); continue; }
            int n = (int)Math.Min(count - got, _end - _start);
            _buf.AsSpan(_start, n).CopyTo(block.AsSpan(got));
            _start += n; got += n; Position += n;
        }
        return got == count ? block : block[..got];
    }

    private void Fill()
    {
        if (_start > 0)
        {
            _buf.AsSpan(_start, _end - _start).CopyTo(_buf);
            _end -= _start; _start = 0;
        }
        if (_end == _buf.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(_buf.Length * 2);
            _buf.AsSpan(0, _end).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buf);
            _buf = bigger;
        }
        int n = stream.Read(_buf, _end, _buf.Length - _end);
        if (n == 0) _eof = true;
        _end += n;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buf);
        _buf = [];
        stream.Dispose();
    }
}

/// <summary>A line longer than the configured cap.</summary>
public sealed class LineTooLongException(int cap) : IOException($"line longer than {cap} bytes");
