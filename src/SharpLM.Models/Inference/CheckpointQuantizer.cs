// Ahead-of-time weight conversion of a checkpoint directory (`sharplm quantize`): the matrices of every block
// (and an untied lm_head) become int8 with one f32 scale per block of B weights of a row — tensor NAME (I8,
// shape (out, in)) plus NAME_scale (F32, shape (out, in/B)), GPT-2 Conv1D weights transposed to (out, in) first —
// or bf16; embeddings, norms and biases stay as they are. The result loads with InferenceModel.Load and gives
// the same weights as converting on load (the same quantizer, row by row). config.json and tokenizer.json are
// copied; the safetensors metadata records what was done.
using System.Runtime.InteropServices;
using SharpLM.Models.Config;
using SharpLM.Models.IO;
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Models.Inference;

/// <summary>Converts a checkpoint's matrices to int8 or bf16.</summary>
public static unsafe class CheckpointQuantizer
{
    /// <summary>Writes the converted checkpoint of <paramref name="srcDir"/> to <paramref name="dstDir"/>; returns (matrices converted, bytes written).</summary>
    public static (int Matrices, long Bytes) Run(string srcDir, string dstDir, WeightFormat format, int block = 32)
    {
        if (format == WeightFormat.F32) throw new ArgumentException("quantize: the target dtype must be int8 or bf16");
        var cfg = ModelConfigJson.Read(Path.Combine(srcDir, "config.json"));
        using var file = SafetensorsFile.Open(Path.Combine(srcDir, "model.safetensors"));
        if (Path.GetFullPath(srcDir) == Path.GetFullPath(dstDir)) throw new ArgumentException($"quantize: output directory must differ from the input ({srcDir})");
        Directory.CreateDirectory(dstDir);
        var entries = new List<SafetensorsEntry>();
        int converted = 0;
        foreach (var t in file.Tensors)
        {
            bool conv1d = cfg.Style == ModelStyle.Gpt2 && t.Shape.Length == 2 && IsGpt2Matrix(t.Name);
            bool matrix = conv1d || cfg.Style == ModelStyle.Llama && t.Shape.Length == 2 && (t.Name.EndsWith("_proj.weight", StringComparison.Ordinal) || t.Name == "lm_head.weight" && !cfg.TieWordEmbeddings);
            if (!matrix || t.DType is not (SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16))
            {
                entries.Add(SafetensorsEntry.FromBytes(t.Name, t.DType, t.Shape, file.Bytes(t.Name).ToArray()));
                continue;
            }
            var w = file.ReadF32(t.Name);
            int rows = (int)t.Shape[0], cols = (int)t.Shape[1];
            if (conv1d) { w = Transpose(w, rows, cols); (rows, cols) = (cols, rows); }
            converted++;
            if (format == WeightFormat.BF16)
            {
                var b = new ushort[w.Length];
                BFloat16Convert.FromFloat(w, b);
                if (conv1d) { b = TransposeU16(b, rows, cols); entries.Add(SafetensorsEntry.FromBytes(t.Name, SafetensorsDType.BF16, [cols, rows], MemoryMarshal.AsBytes(b.AsSpan()).ToArray())); }
                else entries.Add(SafetensorsEntry.FromBytes(t.Name, SafetensorsDType.BF16, [rows, cols], MemoryMarshal.AsBytes(b.AsSpan()).ToArray()));
                continue;
            }
            int B = block <= 0 ? cols : block;
            Int8Gemm.CheckBlock(cols, B);
            var q = new sbyte[w.Length]; var s = new float[(long)rows * (cols / B)];
            fixed (float* pw = w, ps = s) fixed (sbyte* pq = q) Int8Gemm.Quantize(pw, rows, cols, cols, B, pq, ps);
            entries.Add(SafetensorsEntry.FromBytes(t.Name, SafetensorsDType.I8, [rows, cols], MemoryMarshal.AsBytes(q.AsSpan()).ToArray()));
            entries.Add(SafetensorsEntry.FromF32(t.Name + SafetensorsSource.ScaleSuffix, s, rows, cols / B));
        }
        var meta = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["sharplm_dtype"] = WeightFormats.Name(format),
        };
        if (format == WeightFormat.Int8)
        {
            meta["sharplm_int8_block"] = block <= 0 ? "row" : block.ToString(System.Globalization.CultureInfo.InvariantCulture);
            meta["sharplm_int8_layout"] = "int8 matrices are (out, in), GPT-2 Conv1D included; NAME_scale holds one f32 scale per block of a row";
        }
        string outFile = Path.Combine(dstDir, "model.safetensors");
        SafetensorsWriter.Write(outFile, entries, meta);
        File.Copy(Path.Combine(srcDir, "config.json"), Path.Combine(dstDir, "config.json"), overwrite: true);
        string tok = Path.Combine(srcDir, "tokenizer.json");
        if (File.Exists(tok)) File.Copy(tok, Path.Combine(dstDir, "tokenizer.json"), overwrite: true);
        return (converted, new FileInfo(outFile).Length);
    }

    private static bool IsGpt2Matrix(string name) =>
        name.EndsWith("attn.c_attn.weight", StringComparison.Ordinal) || name.EndsWith("attn.c_proj.weight", StringComparison.Ordinal)
        || name.EndsWith("mlp.c_fc.weight", StringComparison.Ordinal) || name.EndsWith("mlp.c_proj.weight", StringComparison.Ordinal);

    private static float[] Transpose(float[] a, int rows, int cols)
    {
        var r = new float[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) r[(long)j * rows + i] = a[(long)i * cols + j];
        return r;
    }

    private static ushort[] TransposeU16(ushort[] a, int rows, int cols)
    {
        var r = new ushort[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) r[(long)j * rows + i] = a[(long)i * cols + j];
        return r;
    }
}
