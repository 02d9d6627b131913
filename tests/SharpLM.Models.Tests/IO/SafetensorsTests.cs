// Safetensors against the golden fixture written by reference/formats/make_safetensors.py (torch 1.13,
// seed 1234): exact values on read, byte identity on write, and every class of corrupt file refused with
// a message naming the file and the field.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using SharpLM.Models.IO;
using SharpLM.Tensors;

namespace SharpLM.Models.Tests.IO;

public sealed class SafetensorsTests : IDisposable
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "reference.safetensors");
    private static readonly string Expected = Path.Combine(AppContext.BaseDirectory, "Fixtures", "reference_expected.json");
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Exp(string DType, long[] Shape, double[] Values);

    private static Dictionary<string, Exp> LoadExpected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Expected));
        var d = new Dictionary<string, Exp>();
        foreach (var p in doc.RootElement.GetProperty("tensors").EnumerateObject())
        {
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var vals = p.Value.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            d[p.Name] = new Exp(p.Value.GetProperty("dtype").GetString()!, shape, vals);
        }
        return d;
    }

    [Fact]
    public void ReadsEveryReferenceValueExactly()
    {
        var exp = LoadExpected();
        using var f = SafetensorsFile.Open(Fixture);
        Assert.Equal(exp.Count, f.Tensors.Count);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal("SharpLM fixture é", f.Metadata["note"]);
        foreach (var (name, e) in exp)
        {
            var info = f.Info(name);
            Assert.Equal(e.DType, info.DType.ToString());
            Assert.Equal(e.Shape, info.Shape);
            if (e.DType == "I32")
            {
                var got = new int[e.Values.Length];
                f.ReadI32(name, got);
                Assert.Equal(e.Values.Select(v => (int)v).ToArray(), got);
            }
            else
            {
                var got = f.ReadF32(name);
                Assert.Equal(e.Values.Length, got.Length);
                for (int i = 0; i < got.Length; i++) Assert.Equal(e.Values[i], (double)got[i]); // exact: every stored value is an f32
            }
        }
    }

    [Fact]
    public void F32ViewIsZeroCopyOverTheMapping()
    {
        var exp = LoadExpected();
        using var f = SafetensorsFile.Open(Fixture);
        const string name = "transformer.h.0.attn.c_attn.weight";
        Assert.True(f.TryGetF32View(name, out var view));
        Assert.Equal(exp[name].Values, view.ToArray().Select(x => (double)x).ToArray());
        unsafe
        {
            fixed (float* pv = view)
            fixed (byte* pb = f.Bytes(name))
                Assert.True(pv == (float*)pb); // same memory: a view, not a copy
        }
        Assert.False(f.TryGetF32View("transformer.wte.weight", out _)); // BF16 has no f32 view
        using var t = f.LoadF32("transformer.wte.weight");
        Assert.Equal(new[] { 4, 3 }, t.Shape.ToArray());
        Assert.Equal(exp["transformer.wte.weight"].Values, t.ToArray().Select(x => (double)x).ToArray());
    }

    private static List<SafetensorsEntry> EntriesFromExpected()
    {
        var list = new List<SafetensorsEntry>();
        foreach (var (name, e) in LoadExpected())
        {
            byte[] bytes = e.DType switch
            {
                "F32" => e.Values.SelectMany(v => BitConverter.GetBytes((float)v)).ToArray(),
                "BF16" => e.Values.SelectMany(v => BitConverter.GetBytes(BFloat16.FromFloat((float)v))).ToArray(),
                "F16" => e.Values.SelectMany(v => BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)v))).ToArray(),
                "I32" => e.Values.SelectMany(v => BitConverter.GetBytes((int)v)).ToArray(),
                _ => throw new InvalidOperationException(e.DType),
            };
            Assert.True(SafetensorsDTypes.TryParse(e.DType, out var dt));
            list.Add(SafetensorsEntry.FromBytes(name, dt, e.Shape, bytes));
        }
        list.Reverse(); // input order must not matter
        return list;
    }

    [Fact]
    public void WriterIsByteIdenticalToReference()
    {
        var meta = new Dictionary<string, string> { ["note"] = "SharpLM fixture é", ["format"] = "pt" };
        string path = Path.Combine(_dir, "ours.safetensors");
        SafetensorsWriter.Write(path, EntriesFromExpected(), meta);
        Assert.Equal(File.ReadAllBytes(Fixture), File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*")); // temp file renamed away
    }

    [Fact]
    public void WriterMatchesHandWorkedSpecExample()
    {
        // One F32 tensor "attn.0" of shape (1, 2, 3) holding 0..5: header {"attn.0":{…}} is 64 bytes — already
        // a multiple of 8, so no padding — and the data follows directly.
        var bytes = SafetensorsWriter.Serialize([SafetensorsEntry.FromF32("attn.0", [0f, 1, 2, 3, 4, 5], 1, 2, 3)]);
        const string header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        Assert.Equal(64, header.Length);
        Assert.Equal(64UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal(header, Encoding.UTF8.GetString(bytes, 8, 64));
        Assert.Equal(8 + 64 + 24, bytes.Length);
        Assert.Equal(5f, BitConverter.ToSingle(bytes, 8 + 64 + 20));

        // "attn0" with shape (1, 1, 2, 3): one byte less name, two more shape → 65 bytes of JSON, padded
        // with 7 spaces to 72 so the f32 data starts 8-byte aligned.
        var b2 = SafetensorsWriter.Serialize([SafetensorsEntry.FromF32("attn0", [0f, 1, 2, 3, 4, 5], 1, 1, 2, 3)]);
        Assert.Equal(72UL, BinaryPrimitives.ReadUInt64LittleEndian(b2));
        Assert.Equal("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", Encoding.UTF8.GetString(b2, 8, 72));

        // No tensors at all: "{}" padded to 8 with six spaces.
        Assert.Equal(new byte[] { 8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32 }, SafetensorsWriter.Serialize([]));
    }

    [Fact]
    public void RoundTripsTensorsThroughAFile()
    {
        using var a = Tensor.FromArray([1.5f, -2f, 3.25f, 0f, 1e-8f, -7f], 2, 3);
        using var ids = Tensor.FromArray([7, -1, 65535], 3);
        string path = Path.Combine(_dir, "rt.safetensors");
        SafetensorsWriter.Write(path, [SafetensorsEntry.FromTensor("a", a), SafetensorsEntry.FromTensor("ids", ids)]);
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(a.ToArray(), f.ReadF32("a"));
        var got = new int[3];
        f.ReadI32("ids", got);
        Assert.Equal(new[] { 7, -1, 65535 }, got);
        Assert.Empty(f.Metadata);
        var ex = Assert.Throws<KeyNotFoundException>(() => f.Info("missing"));
        Assert.Contains("missing", ex.Message);
        Assert.Contains(path, ex.Message);
    }

    // ---- corrupt files -------------------------------------------------------------------------------

    private string WriteRaw(string json, int dataBytes, int? lengthOverride = null)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var buf = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(buf, (ulong)(lengthOverride ?? h.Length));
        h.CopyTo(buf, 8);
        string p = Path.Combine(_dir, $"bad-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(p, buf);
        return p;
    }

    private static string Refused(string path)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        return e.Message;
    }

    [Fact]
    public void RefusesTruncatedFiles()
    {
        string tiny = Path.Combine(_dir, "tiny.safetensors");
        File.WriteAllBytes(tiny, [1, 2, 3]);
        Assert.Contains("truncated", Refused(tiny));

        var full = File.ReadAllBytes(Fixture);
        string cut = Path.Combine(_dir, "cut.safetensors");
        File.WriteAllBytes(cut, full[..(full.Length - 5)]);
        string m = Refused(cut);
        Assert.Contains("lm_head.half", m); // the last tensor no longer fits
        Assert.Contains("data_offsets", m);

        File.WriteAllBytes(cut, full[..40]); // inside the header
        Assert.Contains("truncated", Refused(cut));
    }

    [Fact]
    public void RefusesBadHeaders()
    {
        Assert.Contains("not valid JSON", Refused(WriteRaw("{\"a\":", 0)));
        Assert.Contains("expected a JSON object", Refused(WriteRaw("[1,2]   ", 0)));
        Assert.Contains("'dtype'", Refused(WriteRaw("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)));
        Assert.Contains("'shape'", Refused(WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4)));
        Assert.Contains("'data_offsets'", Refused(WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4)));
        Assert.Contains("'__metadata__.k'", Refused(WriteRaw("{\"__metadata__\":{\"k\":1}}", 0)));
        Assert.Contains("larger than", Refused(WriteRaw("{}", 0, lengthOverride: int.MaxValue)));
    }

    [Fact]
    public void RefusesBadOffsets()
    {
        // end beyond the data buffer
        Assert.Contains("beyond", Refused(WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4)));
        // size disagrees with dtype × shape
        Assert.Contains("needs 12", Refused(WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)));
        // overlap: both tensors named
        string m = Refused(WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12));
        Assert.Contains("overlap", m);
        Assert.Contains("'a'", m);
        Assert.Contains("'b'", m);
        // a gap between tensors, and trailing bytes
        Assert.Contains("belong to no tensor", Refused(WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)));
        Assert.Contains("trailing", Refused(WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8)));
        // duplicate key
        Assert.Contains("twice", Refused(WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)));
    }

    [Fact]
    public void WriterRejectsInconsistentEntries()
    {
        Assert.Throws<ArgumentException>(() => SafetensorsEntry.FromBytes("x", SafetensorsDType.F32, [3], new byte[8]));
        var e = SafetensorsEntry.FromF32("x", [1f], 1);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(Path.Combine(_dir, "dup.safetensors"), [e, e]));
    }

    [Fact]
    public void EscapesNamesAsTheReferenceJsonWriterDoes()
    {
        // serde_json: quote and backslash escaped, newline as \n, other control chars as \u00xx, non-ASCII raw.
        var bytes = SafetensorsWriter.Serialize([SafetensorsEntry.FromF32("a\"b\\c\nd\u0001é", [1f], 1)]);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        string header = Encoding.UTF8.GetString(bytes, 8, n).TrimEnd(' ');
        Assert.StartsWith("{\"a\\\"b\\\\c\\nd\\u0001é\":", header);
        string p = Path.Combine(_dir, "esc.safetensors");
        File.WriteAllBytes(p, bytes);
        using var f = SafetensorsFile.Open(p);
        Assert.Equal([1f], f.ReadF32("a\"b\\c\nd\u0001é"));
    }
}

public sealed class WidenTests
{
    [Fact]
    public void VectorBf16WideningMatchesScalarForEveryBitPatternAndLength()
    {
        var all = new ushort[65536];
        for (int i = 0; i < all.Length; i++) all[i] = (ushort)i;
        var got = new float[all.Length];
        SafetensorsFile.WidenBF16(all, got);
        for (int i = 0; i < all.Length; i++) Assert.Equal(BitConverter.SingleToUInt32Bits(BFloat16.ToFloat(all[i])), BitConverter.SingleToUInt32Bits(got[i]));
        for (int n = 0; n <= 40; n++) // every tail length
        {
            var d = new float[n];
            SafetensorsFile.WidenBF16(all.AsSpan(1000, n), d);
            for (int i = 0; i < n; i++) Assert.Equal(BFloat16.ToFloat(all[1000 + i]), d[i]);
        }
    }
}
