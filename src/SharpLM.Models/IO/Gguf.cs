// GGUF (the single-file model format of ggml / llama.cpp / ollama), version 3: a writer and a reader.
//
// Layout (ggml docs/gguf.md), all little-endian:
//   u32 magic "GGUF" (bytes 47 47 55 46), u32 version = 3, u64 tensor_count, u64 metadata_kv_count,
//   metadata: { string key, u32 value_type, value } × kv_count,
//   tensor infos: { string name, u32 n_dims, u64 ne[n_dims] (ne[0] = the contiguous dimension, i.e. the
//                   reverse of a row-major shape), u32 ggml_type, u64 offset } × tensor_count,
//   zero padding to `general.alignment` (default 32), then the tensor data, each tensor starting at a
//   multiple of the alignment relative to the start of the data section.
//   string = u64 byte length + UTF-8 bytes (no terminator); array = u32 element type, u64 count, elements.
//   value types: u8 0, i8 1, u16 2, i16 3, u32 4, i32 5, f32 6, bool 7, string 8, array 9, u64 10, i64 11, f64 12.
//   tensor types used here: F32 0, F16 1, Q8_0 8 (blocks of 32: f16 scale d, then 32 int8; x ≈ d·q), BF16 30.
// Not here: k-quants and the other block formats, big-endian files.
using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;

namespace SharpLM.Models.IO;

/// <summary>GGUF metadata value types.</summary>
public enum GgufValueType : uint
{
    /// <summary>u8.</summary>
    UInt8 = 0,
    /// <summary>i8.</summary>
    Int8 = 1,
    /// <summary>u16.</summary>
    UInt16 = 2,
    /// <summary>i16.</summary>
    Int16 = 3,
    /// <summary>u32.</summary>
    UInt32 = 4,
    /// <summary>i32.</summary>
    Int32 = 5,
    /// <summary>f32.</summary>
    Float32 = 6,
    /// <summary>bool (one byte, 0 or 1).</summary>
    Bool = 7,
    /// <summary>Length-prefixed UTF-8 string.</summary>
    String = 8,
    /// <summary>Typed array.</summary>
    Array = 9,
    /// <summary>u64.</summary>
    UInt64 = 10,
    /// <summary>i64.</summary>
    Int64 = 11,
    /// <summary>f64.</summary>
    Float64 = 12,
}

/// <summary>ggml tensor types this code reads and writes.</summary>
public enum GgmlType : uint
{
    /// <summary>f32.</summary>
    F32 = 0,
    /// <summary>IEEE half.</summary>
    F16 = 1,
    /// <summary>Blocks of 32: f16 scale + 32 int8 (34 bytes).</summary>
    Q8_0 = 8,
    /// <summary>bfloat16.</summary>
    BF16 = 30,
}

/// <summary>A metadata value: its type, and for arrays the element type; Value is a boxed scalar, string, or an array of them.</summary>
public sealed record GgufValue(GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8)
{
    /// <summary>A u32 value.</summary>
    public static GgufValue U32(uint v) => new(GgufValueType.UInt32, v);
    /// <summary>An f32 value.</summary>
    public static GgufValue F32(float v) => new(GgufValueType.Float32, v);
    /// <summary>A string value.</summary>
    public static GgufValue Str(string v) => new(GgufValueType.String, v);
    /// <summary>An array of strings.</summary>
    public static GgufValue Strings(string[] v) => new(GgufValueType.Array, v, GgufValueType.String);
    /// <summary>An array of i32.</summary>
    public static GgufValue Int32s(int[] v) => new(GgufValueType.Array, v, GgufValueType.Int32);

    /// <summary>The value as an unsigned integer (any integer type).</summary>
    public ulong AsUInt64() => Value switch
    {
        byte b => b,
        sbyte s => (ulong)s,
        ushort u => u,
        short s => (ulong)s,
        uint u => u,
        int i => (ulong)i,
        ulong u => u,
        long l => (ulong)l,
        _ => throw new InvalidDataException($"GGUF value of type {Type} is not an integer"),
    };

    /// <summary>Display text (arrays abbreviated).</summary>
    public override string ToString() => Value switch
    {
        string s => s,
        System.Array a => $"[{a.Length} × {ElementType}]",
        float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(Value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>One tensor's info: name, dims in GGUF order (ne[0] contiguous), type, offset in the data section.</summary>
public sealed record GgufTensorInfo(string Name, ulong[] Dims, GgmlType Type, ulong Offset)
{
    /// <summary>Element count.</summary>
    public ulong Elements { get { ulong n = 1; foreach (var d in Dims) n *= d; return n; } }
    /// <summary>Bytes of data.</summary>
    public ulong Bytes => Gguf.ByteSize(Type, Elements);
}

/// <summary>Constants and element conversions of GGUF.</summary>
public static class Gguf
{
    /// <summary>"GGUF" read as a little-endian u32.</summary>
    public const uint Magic = 0x46554747;
    /// <summary>Format version written.</summary>
    public const uint Version = 3;
    /// <summary>Default data alignment.</summary>
    public const int DefaultAlignment = 32;
    /// <summary>Elements per Q8_0 block.</summary>
    public const int Q8Block = 32;

    /// <summary>Bytes of <paramref name="n"/> elements of type <paramref name="t"/>.</summary>
    public static ulong ByteSize(GgmlType t, ulong n) => t switch
    {
        GgmlType.F32 => 4 * n,
        GgmlType.F16 or GgmlType.BF16 => 2 * n,
        GgmlType.Q8_0 => n % Q8Block == 0 ? n / Q8Block * 34 : throw new InvalidDataException($"Q8_0 tensor of {n} elements is not a whole number of {Q8Block}-blocks"),
        _ => throw new InvalidDataException($"unsupported ggml type {(uint)t}"),
    };

    /// <summary>Encodes f32 values as type <paramref name="t"/> (Q8_0 as llama.cpp: d = max|x|/127, q = round(x/d), d stored as f16).</summary>
    public static byte[] Encode(GgmlType t, ReadOnlySpan<float> x)
    {
        var o = new byte[ByteSize(t, (ulong)x.Length)];
        switch (t)
        {
            case GgmlType.F32:
                for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(o.AsSpan(4 * i), x[i]);
                break;
            case GgmlType.F16:
                for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(o.AsSpan(2 * i), (Half)x[i]);
                break;
            case GgmlType.BF16:
                for (int i = 0; i < x.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(o.AsSpan(2 * i), SharpLM.Tensors.BFloat16.FromFloat(x[i]));
                break;
            case GgmlType.Q8_0:
                for (int b = 0; b < x.Length / Q8Block; b++)
                {
                    var blk = x.Slice(b * Q8Block, Q8Block);
                    float amax = 0;
                    foreach (float v in blk) amax = MathF.Max(amax, MathF.Abs(v));
                    float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
                    var dst = o.AsSpan(b * 34);
                    BinaryPrimitives.WriteHalfLittleEndian(dst, (Half)d);
                    for (int i = 0; i < Q8Block; i++) dst[2 + i] = (byte)(sbyte)MathF.Round(blk[i] * id, MidpointRounding.AwayFromZero); // roundf, as quantize_row_q8_0_ref
                }
                break;
            default: throw new ArgumentException($"cannot encode ggml type {t}");
        }
        return o;
    }

    /// <summary>Decodes <paramref name="n"/> elements of type <paramref name="t"/> to f32.</summary>
    public static float[] Decode(GgmlType t, ReadOnlySpan<byte> src, int n)
    {
        var r = new float[n];
        switch (t)
        {
            case GgmlType.F32: for (int i = 0; i < n; i++) r[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]); break;
            case GgmlType.F16: for (int i = 0; i < n; i++) r[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]); break;
            case GgmlType.BF16: for (int i = 0; i < n; i++) r[i] = SharpLM.Tensors.BFloat16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..])); break;
            case GgmlType.Q8_0:
                for (int b = 0; b < n / Q8Block; b++)
                {
                    float d = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(b * 34)..]);
                    for (int i = 0; i < Q8Block; i++) r[b * Q8Block + i] = d * (sbyte)src[b * 34 + 2 + i];
                }
                break;
            default: throw new InvalidDataException($"cannot decode ggml type {(uint)t}");
        }
        return r;
    }
}

/// <summary>Builds a GGUF file: metadata in insertion order, then tensors in insertion order.</summary>
public sealed class GgufWriter
{
    private readonly List<(string Key, GgufValue Value)> _kv = [];
    private readonly List<(string Name, ulong[] Dims, GgmlType Type, byte[] Data)> _tensors = [];

    /// <summary>Tensors added so far.</summary>
    public int TensorCount => _tensors.Count;

    /// <summary>Data alignment (written as general.alignment when not 32).</summary>
    public int Alignment { get; init; } = Gguf.DefaultAlignment;

    /// <summary>Adds a metadata key.</summary>
    public void Add(string key, GgufValue v)
    {
        foreach (var (k, _) in _kv) if (k == key) throw new ArgumentException($"GGUF key '{key}' added twice");
        _kv.Add((key, v));
    }

    /// <summary>Adds a tensor given row-major f32 values of shape <paramref name="rowMajorShape"/> (stored with reversed dims).</summary>
    public void AddTensor(string name, ReadOnlySpan<float> values, int[] rowMajorShape, GgmlType t)
    {
        long n = 1;
        foreach (int d in rowMajorShape) n *= d;
        if (n != values.Length) throw new ArgumentException($"GGUF tensor '{name}': {values.Length} values for shape ({string.Join(", ", rowMajorShape)})");
        if (t == GgmlType.Q8_0 && rowMajorShape[^1] % Gguf.Q8Block != 0) throw new ArgumentException($"GGUF tensor '{name}': Q8_0 needs rows that are a multiple of {Gguf.Q8Block}, got {rowMajorShape[^1]}");
        var dims = new ulong[rowMajorShape.Length];
        for (int i = 0; i < dims.Length; i++) dims[i] = (ulong)rowMajorShape[^(i + 1)];
        _tensors.Add((name, dims, t, Gguf.Encode(t, values)));
    }

    /// <summary>Writes the file atomically.</summary>
    public void Write(string path) => AtomicFile.Write(path, WriteTo);

    /// <summary>Serialises to a stream.</summary>
    public void WriteTo(Stream s)
    {
        var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
        var kvs = new List<(string, GgufValue)>(_kv);
        if (Alignment != Gguf.DefaultAlignment && !kvs.Exists(k => k.Item1 == "general.alignment")) kvs.Add(("general.alignment", GgufValue.U32((uint)Alignment)));
        w.Write(Gguf.Magic); w.Write(Gguf.Version);
        w.Write((ulong)_tensors.Count); w.Write((ulong)kvs.Count);
        foreach (var (k, v) in kvs) { WriteString(w, k); w.Write((uint)v.Type); WriteValue(w, v.Type, v.Value, v.ElementType); }
        ulong off = 0;
        foreach (var t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Dims.Length);
            foreach (var d in t.Dims) w.Write(d);
            w.Write((uint)t.Type);
            w.Write(off);
            off = Align(off + (ulong)t.Data.Length, (ulong)Alignment);
        }
        w.Flush();
        Pad(s, (ulong)s.Position);
        foreach (var t in _tensors)
        {
            s.Write(t.Data);
            Pad(s, (ulong)t.Data.Length);
        }
        s.Flush();
    }

    private void Pad(Stream s, ulong n)
    {
        ulong p = Align(n, (ulong)Alignment) - n;
        for (ulong i = 0; i < p; i++) s.WriteByte(0);
    }

    internal static ulong Align(ulong x, ulong a) => (x + a - 1) / a * a;

    private static void WriteString(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    private static void WriteValue(BinaryWriter w, GgufValueType t, object v, GgufValueType elem)
    {
        switch (t)
        {
            case GgufValueType.UInt8: w.Write(Convert.ToByte(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Int8: w.Write(Convert.ToSByte(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.UInt16: w.Write(Convert.ToUInt16(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Int16: w.Write(Convert.ToInt16(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.UInt32: w.Write(Convert.ToUInt32(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Int32: w.Write(Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Float32: w.Write(Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Bool: w.Write((byte)((bool)v ? 1 : 0)); break;
            case GgufValueType.String: WriteString(w, (string)v); break;
            case GgufValueType.UInt64: w.Write(Convert.ToUInt64(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Int64: w.Write(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Float64: w.Write(Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case GgufValueType.Array:
                var a = (System.Array)v;
                w.Write((uint)elem);
                w.Write((ulong)a.Length);
                foreach (var e in a) WriteValue(w, elem, e!, GgufValueType.UInt8);
                break;
            default: throw new ArgumentException($"unknown GGUF value type {t}");
        }
    }
}

/// <summary>A GGUF file read into memory-mapped views: metadata, tensor infos and tensor data.</summary>
public sealed unsafe class GgufFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _length;
    private readonly Dictionary<string, GgufTensorInfo> _byName = new(StringComparer.Ordinal);

    /// <summary>Path of the file.</summary>
    public string Path { get; }
    /// <summary>Format version.</summary>
    public uint Version { get; }
    /// <summary>Metadata in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; }
    /// <summary>Tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    /// <summary>Data alignment.</summary>
    public int Alignment { get; }
    /// <summary>File offset of the data section.</summary>
    public long DataStart { get; }

    private GgufFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* p, long len)
    {
        Path = path; _map = map; _view = view; _base = p; _length = len;
        var r = new Reader(path, p, len);
        uint magic = r.U32("magic");
        if (magic != Gguf.Magic) throw new InvalidDataException($"{path}: not a GGUF file (magic 0x{magic:X8}, expected 0x{Gguf.Magic:X8} \"GGUF\")");
        Version = r.U32("version");
        if (Version is < 2 or > 3) throw new InvalidDataException($"{path}: GGUF version {Version} is not supported (expected 2 or 3)");
        ulong nt = r.U64("tensor_count"), nkv = r.U64("metadata_kv_count");
        if (nt > 1_000_000 || nkv > 1_000_000) throw new InvalidDataException($"{path}: implausible counts (tensor_count {nt}, metadata_kv_count {nkv})");
        var meta = new List<KeyValuePair<string, GgufValue>>();
        for (ulong i = 0; i < nkv; i++)
        {
            string k = r.Str($"metadata key #{i}");
            var t = (GgufValueType)r.U32($"type of '{k}'");
            meta.Add(new(k, r.Value(t, k)));
        }
        Metadata = meta;
        int align = Gguf.DefaultAlignment;
        foreach (var kv in meta)
            if (kv.Key == "general.alignment")
            {
                ulong a = kv.Value.AsUInt64();
                if (a == 0 || (a & (a - 1)) != 0) throw new InvalidDataException($"{path}: general.alignment {a} is not a power of two");
                align = (int)a;
            }
        Alignment = align;
        var tensors = new List<GgufTensorInfo>();
        for (ulong i = 0; i < nt; i++)
        {
            string name = r.Str($"tensor name #{i}");
            uint nd = r.U32($"n_dims of '{name}'");
            if (nd is 0 or > 4) throw new InvalidDataException($"{path}: tensor '{name}' has {nd} dims (expected 1..4)");
            var dims = new ulong[nd];
            for (int d = 0; d < nd; d++) dims[d] = r.U64($"ne[{d}] of '{name}'");
            var type = (GgmlType)r.U32($"type of '{name}'");
            ulong off = r.U64($"offset of '{name}'");
            if (off % (ulong)align != 0) throw new InvalidDataException($"{path}: tensor '{name}' offset {off} is not a multiple of the alignment {align}");
            var info = new GgufTensorInfo(name, dims, type, off);
            tensors.Add(info);
            if (!_byName.TryAdd(name, info)) throw new InvalidDataException($"{path}: tensor '{name}' appears twice");
        }
        Tensors = tensors;
        DataStart = (long)GgufWriter.Align((ulong)r.Position, (ulong)align);
        foreach (var t in tensors)
            if ((ulong)DataStart + t.Offset + t.Bytes > (ulong)len)
                throw new InvalidDataException($"{path}: tensor '{t.Name}' [{t.Offset}, +{t.Bytes}) runs past the end of the file (truncated?)");
    }

    /// <summary>Opens and validates a GGUF file.</summary>
    public static GgufFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: GGUF file not found", path);
        long len = new FileInfo(path).Length;
        if (len < 24) throw new InvalidDataException($"{path}: truncated GGUF file ({len} bytes; the header alone is 24)");
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, len, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        p += view.PointerOffset;
        try { return new GgufFile(path, map, view, p, len); }
        catch
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer(); view.Dispose(); map.Dispose();
            throw;
        }
    }

    /// <summary>A metadata value; throws naming the key if absent.</summary>
    public GgufValue Get(string key)
    {
        foreach (var kv in Metadata) if (kv.Key == key) return kv.Value;
        throw new KeyNotFoundException($"{Path}: metadata key '{key}' missing");
    }

    /// <summary>True if the key exists.</summary>
    public bool Has(string key)
    {
        foreach (var kv in Metadata) if (kv.Key == key) return true;
        return false;
    }

    /// <summary>The info of a tensor; throws naming it if absent.</summary>
    public GgufTensorInfo Tensor(string name) => _byName.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{Path}: no tensor '{name}'");

    /// <summary>The raw bytes of a tensor.</summary>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        var t = Tensor(name);
        return new ReadOnlySpan<byte>(_base + DataStart + (long)t.Offset, checked((int)t.Bytes));
    }

    /// <summary>A tensor decoded to f32, in GGUF element order (ne[0] fastest = row-major with reversed dims).</summary>
    public float[] ReadF32(string name) => Gguf.Decode(Tensor(name).Type, Bytes(name), checked((int)Tensor(name).Elements));

    /// <inheritdoc />
    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    private sealed class Reader(string path, byte* p, long len)
    {
        public long Position;

        private ReadOnlySpan<byte> Take(long n, string what)
        {
            if (n < 0 || Position + n > len) throw new InvalidDataException($"{path}: truncated GGUF file while reading {what} at byte {Position}");
            var s = new ReadOnlySpan<byte>(p + Position, checked((int)n));
            Position += n;
            return s;
        }

        public uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));
        public ulong U64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

        public string Str(string what)
        {
            ulong n = U64(what);
            if (n > 1 << 24) throw new InvalidDataException($"{path}: {what}: string length {n} is implausible");
            return Encoding.UTF8.GetString(Take((long)n, what));
        }

        public GgufValue Value(GgufValueType t, string key)
        {
            if (t != GgufValueType.Array) return new GgufValue(t, Scalar(t, key));
            var et = (GgufValueType)U32($"array type of '{key}'");
            ulong n = U64($"array length of '{key}'");
            if (n > 1 << 26) throw new InvalidDataException($"{path}: array '{key}' length {n} is implausible");
            if (et == GgufValueType.Array) throw new InvalidDataException($"{path}: nested arrays in '{key}' are not supported");
            System.Array a = et switch
            {
                GgufValueType.String => new string[n],
                GgufValueType.Int32 => new int[n],
                GgufValueType.UInt32 => new uint[n],
                GgufValueType.Float32 => new float[n],
                _ => new object[n],
            };
            for (ulong i = 0; i < n; i++) a.SetValue(Scalar(et, key), (long)i);
            return new GgufValue(t, a, et);
        }

        private object Scalar(GgufValueType t, string key) => t switch
        {
            GgufValueType.UInt8 => Take(1, key)[0],
            GgufValueType.Int8 => (sbyte)Take(1, key)[0],
            GgufValueType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, key)),
            GgufValueType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(Take(2, key)),
            GgufValueType.UInt32 => U32(key),
            GgufValueType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(Take(4, key)),
            GgufValueType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(Take(4, key)),
            GgufValueType.Bool => Take(1, key)[0] switch { 0 => false, 1 => true, var b => throw new InvalidDataException($"{path}: bool '{key}' has byte {b}") },
            GgufValueType.String => Str(key),
            GgufValueType.UInt64 => U64(key),
            GgufValueType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(Take(8, key)),
            GgufValueType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, key)),
            _ => throw new InvalidDataException($"{path}: '{key}' has unknown value type {(uint)t}"),
        };
    }
}
