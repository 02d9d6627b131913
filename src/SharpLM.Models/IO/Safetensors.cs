// Safetensors read/write (Hugging Face's tensor file format, the checkpoint format of SharpLM).
//
// Layout (spec: huggingface/safetensors README; byte-level choices follow the reference implementation
// safetensors/src/tensor.rs so our files are byte-identical to its output):
//   [u64 little-endian N][N bytes UTF-8 JSON header][data buffer]
//   header = {"__metadata__":{"k":"v",…}, "name":{"dtype":"F32","shape":[2,3],"data_offsets":[begin,end]}, …}
//   offsets are relative to the first byte after the header; tensors are C-order, little-endian;
//   the header is padded with spaces to a multiple of 8 so 8-byte dtypes stay aligned.
// Writer: compact JSON, `__metadata__` first (keys sorted by UTF-8 bytes — the reference keeps them in
// hash order, which only matters for files with 2+ metadata keys), tensors ordered by dtype descending in
// the reference's enum order (8-byte types first, so each tensor stays aligned), ties by name (UTF-8
// bytes); written to a temp file and renamed into place.
// Reader: memory-maps the file; a tensor's bytes are a zero-copy span over the mapping, and an F32 tensor
// whose address is 4-byte aligned is exposed as a zero-copy float span. F32, BF16 and F16 widen to f32
// on read; I32 reads as int. Validation is as strict as the reference's: offsets must tile the data
// buffer exactly (no overlap, no gap, no trailing bytes) and match dtype × shape.
// Not here: sharded checkpoints (model.safetensors.index.json), slicing, big-endian hosts.
using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;
using SharpLM.Tensors;

namespace SharpLM.Models.IO;

/// <summary>Safetensors element types, in the reference implementation's enum order (ascending alignment).</summary>
public enum SafetensorsDType
{
    /// <summary>Boolean (1 byte).</summary>
    BOOL,
    /// <summary>Unsigned byte.</summary>
    U8,
    /// <summary>Signed byte.</summary>
    I8,
    /// <summary>FP8 E5M2.</summary>
    F8_E5M2,
    /// <summary>FP8 E4M3.</summary>
    F8_E4M3,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Unsigned 16-bit integer.</summary>
    U16,
    /// <summary>IEEE half precision.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Unsigned 32-bit integer.</summary>
    U32,
    /// <summary>IEEE single precision.</summary>
    F32,
    /// <summary>IEEE double precision.</summary>
    F64,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Unsigned 64-bit integer.</summary>
    U64,
}

/// <summary>Facts about <see cref="SafetensorsDType"/>.</summary>
public static class SafetensorsDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(SafetensorsDType t) => t switch
    {
        SafetensorsDType.BOOL or SafetensorsDType.U8 or SafetensorsDType.I8 or SafetensorsDType.F8_E5M2 or SafetensorsDType.F8_E4M3 => 1,
        SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.F32 => 4,
        SafetensorsDType.F64 or SafetensorsDType.I64 or SafetensorsDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown safetensors dtype"),
    };

    /// <summary>Parses a header dtype name ("F32", "BF16", …); false if unknown.</summary>
    public static bool TryParse(string s, out SafetensorsDType t)
    {
        for (int i = 0; i < Names.Length; i++)
        {
            if (Names[i] == s) { t = (SafetensorsDType)i; return true; }
        }
        t = default;
        return false;
    }

    private static readonly string[] Names = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    /// <summary>The safetensors dtype that stores a SharpLM tensor dtype.</summary>
    public static SafetensorsDType From(DType t) => t switch
    {
        DType.F32 => SafetensorsDType.F32,
        DType.BF16 => SafetensorsDType.BF16,
        DType.I32 => SafetensorsDType.I32,
        DType.I8 => SafetensorsDType.I8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "no safetensors dtype"),
    };
}

/// <summary>One tensor's header entry.</summary>
/// <param name="Name">Tensor name (Hugging Face naming).</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first (empty for a scalar).</param>
/// <param name="Begin">Start of the data, relative to the data buffer.</param>
/// <param name="End">End (exclusive) of the data, relative to the data buffer.</param>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n = checked(n * d);
            return n;
        }
    }

    /// <summary>Shape as (a, b, c).</summary>
    public string ShapeText => "(" + string.Join(", ", Shape) + ")";
}

/// <summary>A memory-mapped safetensors file. Spans it hands out are valid until Dispose.</summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the reference's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _base;
    private readonly long _fileBytes;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    /// <summary>The file this was opened from.</summary>
    public string Path { get; }
    /// <summary>The <c>__metadata__</c> map (empty if absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Tensors in data order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }
    /// <summary>Byte offset of the data buffer in the file (8 + header length).</summary>
    public long DataStart => _dataStart;

    private SafetensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr, long fileBytes,
                            long dataStart, Dictionary<string, string> metadata, List<SafetensorsTensorInfo> tensors)
    {
        Path = path; _map = map; _view = view; _base = basePtr; _fileBytes = fileBytes; _dataStart = dataStart;
        Metadata = metadata; Tensors = tensors;
        _byName = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
        foreach (var t in tensors) _byName[t.Name] = t;
    }

    /// <summary>Opens and validates <paramref name="path"/>; throws <see cref="InvalidDataException"/> naming the file and field on bad input.</summary>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: safetensors file not found", path);
        long len = new FileInfo(path).Length;
        if (len < 8) throw new InvalidDataException($"{path}: truncated safetensors file: {len} bytes, need at least 8 for the header length");
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        bool ok = false;
        try
        {
            view = map.CreateViewAccessor(0, len, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            var (dataStart, meta, tensors) = ParseHeader(path, new ReadOnlySpan<byte>(p, (int)Math.Min(len, int.MaxValue)), len);
            var f = new SafetensorsFile(path, map, view, p, len, dataStart, meta, tensors);
            ok = true;
            return f;
        }
        finally
        {
            if (!ok)
            {
                if (view != null) { view.SafeMemoryMappedViewHandle.ReleasePointer(); view.Dispose(); }
                map.Dispose();
            }
        }
    }

    /// <summary>True if a tensor of that name exists.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The header entry of <paramref name="name"/>; throws naming the file if absent.</summary>
    public SafetensorsTensorInfo Info(string name) =>
        _byName.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>The raw little-endian bytes of a tensor (zero-copy view over the mapping).</summary>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        var t = Info(name);
        long n = t.End - t.Begin;
        if (n > int.MaxValue) throw new NotSupportedException($"{Path}: tensor '{name}' is {n} bytes; spans over 2 GiB are not supported");
        return new ReadOnlySpan<byte>(BasePtr + _dataStart + t.Begin, (int)n);
    }

    /// <summary>A zero-copy float view of an F32 tensor whose data is 4-byte aligned in memory; false otherwise.</summary>
    public bool TryGetF32View(string name, out ReadOnlySpan<float> values)
    {
        var t = Info(name);
        byte* p = BasePtr + _dataStart + t.Begin;
        if (t.DType != SafetensorsDType.F32 || ((nuint)p & 3) != 0 || !BitConverter.IsLittleEndian || t.ElementCount > int.MaxValue)
        {
            values = default;
            return false;
        }
        values = new ReadOnlySpan<float>(p, (int)t.ElementCount);
        return true;
    }

    /// <summary>Reads an F32, BF16 or F16 tensor into <paramref name="dst"/>, widening to f32 (exact).</summary>
    public void ReadF32(string name, Span<float> dst)
    {
        var t = Info(name);
        if (dst.Length != t.ElementCount) throw new ArgumentException($"{Path}: tensor '{name}' has {t.ElementCount} elements {t.ShapeText}, destination has {dst.Length}");
        var src = Bytes(name);
        switch (t.DType)
        {
            case SafetensorsDType.F32:
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                else for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src.Slice(i * 4));
                break;
            case SafetensorsDType.BF16:
                if (BitConverter.IsLittleEndian) WidenBF16(MemoryMarshal.Cast<byte, ushort>(src), dst);
                else for (int i = 0; i < dst.Length; i++) dst[i] = BFloat16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(src.Slice(i * 2)));
                break;
            case SafetensorsDType.F16:
                if (BitConverter.IsLittleEndian) System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst);
                else for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src.Slice(i * 2));
                break;
            default:
                throw new InvalidDataException($"{Path}: tensor '{name}' has dtype {t.DType}; expected F32, BF16 or F16 to read as f32");
        }
    }

    /// <summary>bf16 → f32 is a 16-bit left shift: widen 8 (or 16) halves at a time, scalar tail (BFloat16.ToFloat is the oracle).</summary>
    internal static void WidenBF16(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException($"destination holds {dst.Length} floats, source has {src.Length} bf16 values");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort s0 = ref MemoryMarshal.GetReference(src);
            ref float d0 = ref MemoryMarshal.GetReference(dst);
            for (; i + 16 <= src.Length; i += 16)
            {
                var v = Vector256.LoadUnsafe(ref s0, (nuint)i);
                var (lo, hi) = Vector256.Widen(v);
                Vector256.ShiftLeft(lo, 16).AsSingle().StoreUnsafe(ref d0, (nuint)i);
                Vector256.ShiftLeft(hi, 16).AsSingle().StoreUnsafe(ref d0, (nuint)(i + 8));
            }
        }
        for (; i < src.Length; i++) dst[i] = BFloat16.ToFloat(src[i]);
    }

    /// <summary>Reads an I32 tensor into <paramref name="dst"/>.</summary>
    public void ReadI32(string name, Span<int> dst)
    {
        var t = Info(name);
        if (t.DType != SafetensorsDType.I32) throw new InvalidDataException($"{Path}: tensor '{name}' has dtype {t.DType}; expected I32");
        if (dst.Length != t.ElementCount) throw new ArgumentException($"{Path}: tensor '{name}' has {t.ElementCount} elements {t.ShapeText}, destination has {dst.Length}");
        var src = Bytes(name);
        if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, int>(src).CopyTo(dst);
        else for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(src.Slice(i * 4));
    }

    /// <summary>A new array holding the tensor widened to f32.</summary>
    public float[] ReadF32(string name)
    {
        var a = new float[checked((int)Info(name).ElementCount)];
        ReadF32(name, a);
        return a;
    }

    /// <summary>A new f32 <see cref="Tensor"/> (copied out of the mapping, widened from BF16/F16 if needed).</summary>
    public Tensor LoadF32(string name)
    {
        var t = Info(name);
        var shape = new int[t.Shape.Length];
        for (int i = 0; i < shape.Length; i++) shape[i] = checked((int)t.Shape[i]);
        var x = Tensor.Zeros(DType.F32, shape);
        try { ReadF32(name, x.AsSpan<float>()); }
        catch { x.Dispose(); throw; }
        return x;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view!.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map!.Dispose();
    }

    private byte* BasePtr => _base != null ? _base : throw new ObjectDisposedException(nameof(SafetensorsFile), $"{Path} is closed");

    /// <summary>Parses and validates a whole file image (the header and the offsets against the file size).</summary>
    internal static (long DataStart, Dictionary<string, string> Meta, List<SafetensorsTensorInfo> Tensors) ParseHeader(string path, ReadOnlySpan<byte> file, long fileBytes)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (n > MaxHeaderBytes) throw new InvalidDataException($"{path}: header length {n} is larger than the {MaxHeaderBytes}-byte limit (not a safetensors file?)");
        if (8 + (long)n > fileBytes) throw new InvalidDataException($"{path}: truncated safetensors file: header length says {n} bytes but only {fileBytes - 8} follow the length field");
        var json = file.Slice(8, (int)n);
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new List<SafetensorsTensorInfo>();
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { AllowTrailingCommas = false }); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: bad safetensors header: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: bad safetensors header: expected a JSON object, got {doc.RootElement.ValueKind}");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw new InvalidDataException($"{path}: bad safetensors header: key '{prop.Name}' appears twice");
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: bad safetensors header: field '__metadata__' must be an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{path}: bad safetensors header: field '__metadata__.{m.Name}' must be a string, got {m.Value.ValueKind}");
                        meta[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                tensors.Add(ParseEntry(path, prop));
            }
        }

        long dataBytes = fileBytes - 8 - (long)n;
        foreach (var t in tensors)
        {
            if (t.End > dataBytes) throw new InvalidDataException($"{path}: tensor '{t.Name}' field 'data_offsets' [{t.Begin}, {t.End}) lies beyond the {dataBytes}-byte data buffer (file truncated?)");
            long expect = checked(t.ElementCount * SafetensorsDTypes.SizeOf(t.DType));
            if (t.End - t.Begin != expect) throw new InvalidDataException($"{path}: tensor '{t.Name}' field 'data_offsets' [{t.Begin}, {t.End}) spans {t.End - t.Begin} bytes but dtype {t.DType} × shape {t.ShapeText} needs {expect}");
        }
        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long pos = 0;
        SafetensorsTensorInfo? prev = null;
        foreach (var t in tensors)
        {
            if (t.Begin < pos) throw new InvalidDataException($"{path}: tensors '{prev!.Name}' [{prev.Begin}, {prev.End}) and '{t.Name}' [{t.Begin}, {t.End}) overlap (field 'data_offsets')");
            if (t.Begin > pos) throw new InvalidDataException($"{path}: data bytes [{pos}, {t.Begin}) before tensor '{t.Name}' belong to no tensor (field 'data_offsets' must tile the data buffer)");
            pos = t.End;
            prev = t;
        }
        if (pos != dataBytes) throw new InvalidDataException($"{path}: {dataBytes - pos} trailing data bytes after the last tensor (data buffer is {dataBytes} bytes, tensors cover {pos})");
        return (8 + (long)n, meta, tensors);
    }

    private static SafetensorsTensorInfo ParseEntry(string path, JsonProperty prop)
    {
        string name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: bad safetensors header: tensor '{name}' must be an object with dtype, shape, data_offsets");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{path}: bad safetensors header: tensor '{name}' field 'dtype' missing or not a string");
        if (!SafetensorsDTypes.TryParse(dt.GetString()!, out var dtype))
            throw new InvalidDataException($"{path}: bad safetensors header: tensor '{name}' field 'dtype' has unknown value '{dt.GetString()}'");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: bad safetensors header: tensor '{name}' field 'shape' missing or not an array");
        var shape = new long[sh.GetArrayLength()];
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long x) || x < 0)
                throw new InvalidDataException($"{path}: bad safetensors header: tensor '{name}' field 'shape' must hold non-negative integers, got {d.GetRawText()}");
            shape[i++] = x;
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new InvalidDataException($"{path}: bad safetensors header: tensor '{name}' field 'data_offsets' must be an array [begin, end]");
        long b = OffsetValue(path, name, off[0]), e = OffsetValue(path, name, off[1]);
        if (e < b) throw new InvalidDataException($"{path}: bad safetensors header: tensor '{name}' field 'data_offsets' [{b}, {e}) ends before it begins");
        var info = new SafetensorsTensorInfo(name, dtype, shape, b, e);
        try { _ = checked(info.ElementCount * SafetensorsDTypes.SizeOf(dtype)); }
        catch (OverflowException) { throw new InvalidDataException($"{path}: bad safetensors header: tensor '{name}' field 'shape' {info.ShapeText} overflows"); }
        return info;
    }

    private static long OffsetValue(string path, string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long x) || x < 0)
            throw new InvalidDataException($"{path}: bad safetensors header: tensor '{name}' field 'data_offsets' must hold non-negative integers, got {e.GetRawText()}");
        return x;
    }
}

/// <summary>A tensor to write: a name, a dtype, a shape and its bytes (managed memory or a contiguous <see cref="Tensor"/>).</summary>
public sealed unsafe class SafetensorsEntry
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly Tensor? _tensor;

    /// <summary>Tensor name.</summary>
    public string Name { get; }
    /// <summary>Element type.</summary>
    public SafetensorsDType DType { get; }
    /// <summary>Dimensions, outermost first.</summary>
    public long[] Shape { get; }
    /// <summary>Size of the data in bytes.</summary>
    public long ByteCount { get; }

    private SafetensorsEntry(string name, SafetensorsDType dtype, long[] shape, ReadOnlyMemory<byte> bytes, Tensor? tensor, long byteCount)
    {
        Name = name; DType = dtype; Shape = shape; _bytes = bytes; _tensor = tensor; ByteCount = byteCount;
        long n = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}': negative dimension in shape ({string.Join(", ", shape)})");
            n = checked(n * d);
        }
        long expect = checked(n * SafetensorsDTypes.SizeOf(dtype));
        if (expect != byteCount) throw new ArgumentException($"tensor '{name}': {byteCount} data bytes but {dtype} × ({string.Join(", ", shape)}) needs {expect}");
    }

    /// <summary>Raw little-endian bytes with an explicit dtype and shape.</summary>
    public static SafetensorsEntry FromBytes(string name, SafetensorsDType dtype, long[] shape, ReadOnlyMemory<byte> bytes) =>
        new(name, dtype, (long[])shape.Clone(), bytes, null, bytes.Length);

    /// <summary>f32 values with a shape (copied to little-endian bytes).</summary>
    public static SafetensorsEntry FromF32(string name, ReadOnlySpan<float> values, params long[] shape) =>
        FromBytes(name, SafetensorsDType.F32, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>int32 values with a shape (copied).</summary>
    public static SafetensorsEntry FromI32(string name, ReadOnlySpan<int> values, params long[] shape) =>
        FromBytes(name, SafetensorsDType.I32, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>A contiguous tensor (not copied: its storage is read while writing, so keep it alive and unchanged).</summary>
    public static SafetensorsEntry FromTensor(string name, Tensor t)
    {
        if (!t.IsContiguous) throw new ArgumentException($"tensor '{name}' of shape {Tensor.Format(t.Shape)} is not contiguous; call Contiguous() first");
        var shape = new long[t.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = t.Shape[i];
        return new SafetensorsEntry(name, SafetensorsDTypes.From(t.DType), shape, default, t, t.Length * DTypeInfo.SizeOf(t.DType));
    }

    internal void WriteTo(Stream s)
    {
        if (_tensor == null) { s.Write(_bytes.Span); return; }
        byte* p = (byte*)_tensor.RawPointer;
        long left = ByteCount;
        while (left > 0)
        {
            int chunk = (int)Math.Min(left, 1 << 30);
            s.Write(new ReadOnlySpan<byte>(p, chunk));
            p += chunk; left -= chunk;
        }
    }
}

/// <summary>Writes safetensors files byte-identical to the reference implementation (see the file header).</summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="entries"/> (and optional string metadata) to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IEnumerable<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = new List<SafetensorsEntry>(entries);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in list)
            if (!names.Add(e.Name)) throw new ArgumentException($"{path}: tensor name '{e.Name}' given twice");
        list.Sort(CompareForLayout);
        byte[] header = BuildHeader(list, metadata);
        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            s.Write(len);
            s.Write(header);
            foreach (var e in list) e.WriteTo(s);
        });
    }

    /// <summary>Serialises to a byte array (for small files and tests).</summary>
    public static byte[] Serialize(IEnumerable<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = new List<SafetensorsEntry>(entries);
        list.Sort(CompareForLayout);
        byte[] header = BuildHeader(list, metadata);
        using var ms = new MemoryStream();
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        ms.Write(len);
        ms.Write(header);
        foreach (var e in list) e.WriteTo(ms);
        return ms.ToArray();
    }

    private static int CompareForLayout(SafetensorsEntry a, SafetensorsEntry b)
    {
        int c = ((int)b.DType).CompareTo((int)a.DType); // dtype descending, as the reference
        return c != 0 ? c : CompareUtf8(a.Name, b.Name);
    }

    private static int CompareUtf8(string a, string b) =>
        Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));

    private static byte[] BuildHeader(List<SafetensorsEntry> sorted, IReadOnlyDictionary<string, string>? metadata)
    {
        var sb = new StringBuilder("{");
        bool first = true;
        if (metadata != null)
        {
            var keys = new List<string>(metadata.Keys);
            keys.Sort(CompareUtf8);
            sb.Append("\"__metadata__\":{");
            for (int i = 0; i < keys.Count; i++)
            {
                if (i > 0) sb.Append(',');
                JsonText.AppendString(sb, keys[i]);
                sb.Append(':');
                JsonText.AppendString(sb, metadata[keys[i]]);
            }
            sb.Append('}');
            first = false;
        }
        long offset = 0;
        foreach (var e in sorted)
        {
            if (!first) sb.Append(',');
            first = false;
            JsonText.AppendString(sb, e.Name);
            sb.Append(":{\"dtype\":\"").Append(e.DType.ToString()).Append("\",\"shape\":[");
            for (int i = 0; i < e.Shape.Length; i++) sb.Append(i == 0 ? "" : ",").Append(e.Shape[i]);
            sb.Append("],\"data_offsets\":[").Append(offset).Append(',').Append(offset + e.ByteCount).Append("]}");
            offset += e.ByteCount;
        }
        sb.Append('}');
        int pad = (8 - Encoding.UTF8.GetByteCount(sb.ToString()) % 8) % 8;
        sb.Append(' ', pad);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
