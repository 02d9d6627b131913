// Gzip decompression that notices truncation. .NET's GZipStream ends quietly when the compressed input stops
// mid-stream; a truncated .jsonl.gz would then look like a shorter, valid file. At the end of the stream we
// compare the trailer's ISIZE (RFC 1952: uncompressed size mod 2^32, last 4 bytes of the file) with the bytes
// actually produced. Multi-member files (concatenated gzip, as .warc.gz) carry one ISIZE per member: when the
// sizes disagree and the file holds another member header, the check cannot decide and passes (WARC record
// lengths catch truncation there).
using System.IO.Compression;

namespace SharpLM.Text.Data.Readers;

/// <summary>A decompressing read stream that fails on a truncated gzip file.</summary>
internal sealed class CheckedGzipStream(FileStream file, string name) : Stream
{
    private readonly GZipStream _gz = new(file, CompressionMode.Decompress, leaveOpen: true);
    private long _total;
    private bool _checked;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try { n = _gz.Read(buffer); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{name}: corrupt gzip data ({e.Message})", e); }
        _total += n;
        if (n == 0 && buffer.Length > 0 && !_checked) { _checked = true; Verify(); }
        return n;
    }

    private void Verify()
    {
        long len = file.Length;
        if (len < 18) throw new InvalidDataException($"{name}: truncated gzip file ({len} bytes)");
        Span<byte> tail = stackalloc byte[4];
        file.Seek(len - 4, SeekOrigin.Begin);
        file.ReadExactly(tail);
        uint isize = BitConverter.ToUInt32(tail);
        if (isize == (uint)_total) return;
        if (HasSecondMember()) return;
        throw new InvalidDataException($"{name}: truncated or corrupt gzip file (trailer says {isize} bytes mod 2^32, decompressed {_total})");
    }

    private bool HasSecondMember()
    {
        file.Seek(1, SeekOrigin.Begin);
        var buf = new byte[1 << 16];
        int carry = 0;
        while (true)
        {
            int n = file.Read(buf, carry, buf.Length - carry);
            if (n == 0) return false;
            int m = carry + n;
            if (buf.AsSpan(0, m).IndexOf([(byte)0x1F, (byte)0x8B, (byte)0x08]) >= 0) return true;
            buf.AsSpan(m - 2, 2).CopyTo(buf);
            carry = 2;
        }
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _total; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) { _gz.Dispose(); file.Dispose(); }
        base.Dispose(disposing);
    }
}
