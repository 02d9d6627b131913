// GGUF export and reader: the byte layout of a minimal file worked out by hand from the specification
// (ggml docs/gguf.md), a round trip of the Llama fixture through the writer and reader (values exact for
// f32, within f16 rounding, within half a Q8_0 step), the llama key set, the tokenizer keys, and the RoPE
// permutation checked by its meaning: attention scores with Hugging Face rotate-half RoPE on the original
// q/k rows equal the scores with llama.cpp's adjacent-pair RoPE on the permuted rows.
using System.Text;
using SharpLM.Models.Config;
using SharpLM.Models.Inference;
using SharpLM.Models.IO;
using SharpLM.Tensors.Kernels;
using SharpLM.Text.Tokenization;

namespace SharpLM.Models.Tests.Inference;

public sealed class GgufTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-gguf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MinimalFileHasTheSpecifiedBytes()
    {
        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Str("llama"));
        w.AddTensor("t", [1f, 2f], [2], GgmlType.F32);
        using var ms = new MemoryStream();
        w.WriteTo(ms);
        var b = ms.ToArray();
        var expect = new List<byte>();
        expect.AddRange("GGUF"u8.ToArray());
        expect.AddRange(BitConverter.GetBytes(3u));                 // version
        expect.AddRange(BitConverter.GetBytes(1UL));                // tensor_count
        expect.AddRange(BitConverter.GetBytes(1UL));                // metadata_kv_count
        expect.AddRange(BitConverter.GetBytes(20UL)); expect.AddRange("general.architecture"u8.ToArray());
        expect.AddRange(BitConverter.GetBytes(8u));                 // STRING
        expect.AddRange(BitConverter.GetBytes(5UL)); expect.AddRange("llama"u8.ToArray());
        expect.AddRange(BitConverter.GetBytes(1UL)); expect.Add((byte)'t');
        expect.AddRange(BitConverter.GetBytes(1u));                 // n_dims
        expect.AddRange(BitConverter.GetBytes(2UL));                // ne[0]
        expect.AddRange(BitConverter.GetBytes(0u));                 // F32
        expect.AddRange(BitConverter.GetBytes(0UL));                // offset
        while (expect.Count % 32 != 0) expect.Add(0);               // 4+4+8+8+28+4+13+9+4+8+4+8 = 102 → 128
        Assert.Equal(128, expect.Count);
        expect.AddRange(BitConverter.GetBytes(1f)); expect.AddRange(BitConverter.GetBytes(2f));
        while (expect.Count % 32 != 0) expect.Add(0);
        Assert.Equal(expect.ToArray(), b);
    }

    [Theory]
    [InlineData("f32")]
    [InlineData("f16")]
    [InlineData("q8_0")]
    public void LlamaFixtureRoundTrips(string type)
    {
        var t = GgufExport.ParseType(type);
        string dir = GoldenGenerateTests.Dir("llama"), path = Path.Combine(_dir, $"m-{type}.gguf");
        int n = GgufExport.Export(dir, path, t);
        var cfg = ModelConfigJson.Read(Path.Combine(dir, "config.json"));
        using var st = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        using var g = GgufFile.Open(path);
        Assert.Equal(3u, g.Version);
        Assert.Equal(2 + 9 * cfg.NumLayers + 1, n); // embedding, norm, output, 9 per block
        Assert.Equal(n, g.Tensors.Count);
        Assert.Equal("llama", g.Get("general.architecture").Value);
        Assert.Equal((ulong)cfg.NumHeads, g.Get("llama.attention.head_count").AsUInt64());
        Assert.Equal((ulong)cfg.NumKvHeads, g.Get("llama.attention.head_count_kv").AsUInt64());
        Assert.Equal((ulong)cfg.NumLayers, g.Get("llama.block_count").AsUInt64());
        Assert.Equal((ulong)cfg.IntermediateSize, g.Get("llama.feed_forward_length").AsUInt64());
        Assert.Equal((ulong)cfg.HeadDim, g.Get("llama.rope.dimension_count").AsUInt64());
        Assert.Equal((float)cfg.NormEps, (float)g.Get("llama.attention.layer_norm_rms_epsilon").Value);
        Assert.Equal(0, g.DataStart % 32);
        foreach (var ti in g.Tensors) Assert.Equal(0UL, ti.Offset % 32);
        // Dims are reversed: ne[0] is the contiguous (input) dimension.
        Assert.Equal(new ulong[] { (ulong)cfg.HiddenSize, (ulong)cfg.PaddedVocabSize }, g.Tensor("token_embd.weight").Dims);
        Assert.Equal(GgmlType.F32, g.Tensor("blk.0.attn_norm.weight").Type);
        Assert.Equal(t, g.Tensor("blk.1.ffn_down.weight").Type);
        int HS = cfg.HeadDim, C = cfg.HiddenSize;
        var pairs = new (string Gguf, string Hf, int Heads)[]
        {
            ("token_embd.weight", "model.embed_tokens.weight", 0), ("output.weight", "lm_head.weight", 0), ("output_norm.weight", "model.norm.weight", 0),
            ("blk.1.attn_q.weight", "model.layers.1.self_attn.q_proj.weight", cfg.NumHeads), ("blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight", cfg.NumKvHeads),
            ("blk.0.attn_v.weight", "model.layers.0.self_attn.v_proj.weight", 0), ("blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight", 0),
            ("blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight", 0), ("blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight", 0),
            ("blk.1.ffn_norm.weight", "model.layers.1.post_attention_layernorm.weight", 0),
        };
        foreach (var (gn, hn, heads) in pairs)
        {
            var orig = st.ReadF32(hn);
            var back = g.ReadF32(gn);
            if (heads > 0) back = GgufExport.UnpermuteRope(back, heads, HS, C);
            bool isMatrix = st.Info(hn).Shape.Length == 2;
            int cols = isMatrix ? (int)st.Info(hn).Shape[1] : orig.Length;
            for (int i = 0; i < orig.Length; i++)
            {
                double tol = !isMatrix || t == GgmlType.F32 ? 0
                    : t == GgmlType.F16 ? Math.Abs(orig[i]) * Math.Pow(2, -11) + 1e-7
                    : BlockMax(orig, i, cols) / 127 * (0.5 + 127 * Math.Pow(2, -11)) + 1e-7; // half a step, plus |q|·(f16 rounding of d)
                Assert.True(Math.Abs(back[i] - orig[i]) <= tol, $"{gn}[{i}] ({type}): {back[i]} vs {orig[i]}");
            }
        }
    }

    [Theory]
    [InlineData("f32")]
    [InlineData("f16")]
    [InlineData("q8_0")]
    public void Gpt2FixtureRoundTripsAsTheGpt2Architecture(string type)
    {
        var t = GgufExport.ParseType(type);
        string dir = GoldenGenerateTests.Dir("gpt2"), path = Path.Combine(_dir, $"g-{type}.gguf");
        int n = GgufExport.Export(dir, path, t);
        var cfg = ModelConfigJson.Read(Path.Combine(dir, "config.json"));
        using var st = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        using var g = GgufFile.Open(path);
        int C = cfg.HiddenSize, I = cfg.IntermediateSize;
        Assert.Equal(2 + 12 * cfg.NumLayers + 2, n); // token and position embeddings, 12 per block, final norm weight and bias (tied head)
        Assert.Equal(n, g.Tensors.Count);
        Assert.Equal("gpt2", g.Get("general.architecture").Value);
        Assert.Equal((ulong)cfg.MaxPositions, g.Get("gpt2.context_length").AsUInt64());
        Assert.Equal((ulong)C, g.Get("gpt2.embedding_length").AsUInt64());
        Assert.Equal((ulong)cfg.NumLayers, g.Get("gpt2.block_count").AsUInt64());
        Assert.Equal((ulong)I, g.Get("gpt2.feed_forward_length").AsUInt64());
        Assert.Equal((ulong)cfg.NumHeads, g.Get("gpt2.attention.head_count").AsUInt64());
        Assert.Equal((float)cfg.NormEps, (float)g.Get("gpt2.attention.layer_norm_epsilon").Value);
        Assert.DoesNotContain(g.Tensors, x => x.Name == "output.weight"); // tied: llama.cpp's gpt2 loader reuses token_embd
        // ggml dims, ne[0] first: the loader asks for {n_embd, n_embd + 2·n_embd_gqa}, {n_embd, n_ctx_train}, {n_ff, n_embd}.
        Assert.Equal(new ulong[] { (ulong)C, 3UL * (ulong)C }, g.Tensor("blk.0.attn_qkv.weight").Dims);
        Assert.Equal(new ulong[] { 3UL * (ulong)C }, g.Tensor("blk.0.attn_qkv.bias").Dims);
        Assert.Equal(new ulong[] { (ulong)C, (ulong)cfg.MaxPositions }, g.Tensor("position_embd.weight").Dims);
        Assert.Equal(new ulong[] { (ulong)I, (ulong)C }, g.Tensor("blk.1.ffn_down.weight").Dims);
        Assert.Equal(GgmlType.F32, g.Tensor("blk.0.attn_norm.bias").Type);
        Assert.Equal(GgmlType.F32, g.Tensor("position_embd.weight").Type);
        Assert.Equal(t, g.Tensor("blk.1.attn_qkv.weight").Type);
        var pairs = new (string Gguf, string Hf, bool Conv1D)[]
        {
            ("token_embd.weight", "wte.weight", false), ("position_embd.weight", "wpe.weight", false),
            ("output_norm.weight", "ln_f.weight", false), ("output_norm.bias", "ln_f.bias", false),
            ("blk.0.attn_norm.weight", "h.0.ln_1.weight", false), ("blk.1.attn_norm.bias", "h.1.ln_1.bias", false),
            ("blk.1.attn_qkv.weight", "h.1.attn.c_attn.weight", true), ("blk.1.attn_qkv.bias", "h.1.attn.c_attn.bias", false),
            ("blk.0.attn_output.weight", "h.0.attn.c_proj.weight", true), ("blk.0.attn_output.bias", "h.0.attn.c_proj.bias", false),
            ("blk.1.ffn_norm.weight", "h.1.ln_2.weight", false), ("blk.0.ffn_norm.bias", "h.0.ln_2.bias", false),
            ("blk.0.ffn_up.weight", "h.0.mlp.c_fc.weight", true), ("blk.1.ffn_up.bias", "h.1.mlp.c_fc.bias", false),
            ("blk.1.ffn_down.weight", "h.1.mlp.c_proj.weight", true), ("blk.0.ffn_down.bias", "h.0.mlp.c_proj.bias", false),
        };
        string prefix = st.Contains("transformer.wte.weight") ? "transformer." : "";
        foreach (var (gn, hn, conv) in pairs)
        {
            var info = st.Info(prefix + hn);
            var orig = st.ReadF32(prefix + hn);
            bool isMatrix = info.Shape.Length == 2;
            int rows = isMatrix ? (int)info.Shape[0] : 1, cols = isMatrix ? (int)info.Shape[1] : orig.Length;
            if (conv) // HF Conv1D (in, out) → GGUF row-major (out, in): element [o, i] = HF [i, o]
            {
                var tr = new float[orig.Length];
                for (int i = 0; i < rows; i++) for (int o = 0; o < cols; o++) tr[o * rows + i] = orig[i * cols + o];
                orig = tr; (rows, cols) = (cols, rows);
            }
            var back = g.ReadF32(gn);
            Assert.Equal(orig.Length, back.Length);
            for (int i = 0; i < orig.Length; i++)
            {
                double tol = !isMatrix || t == GgmlType.F32 || gn.StartsWith("position_embd", StringComparison.Ordinal) ? 0
                    : t == GgmlType.F16 ? Math.Abs(orig[i]) * Math.Pow(2, -11) + 1e-7
                    : BlockMax(orig, i, cols) / 127 * (0.5 + 127 * Math.Pow(2, -11)) + 1e-7;
                Assert.True(Math.Abs(back[i] - orig[i]) <= tol, $"{gn}[{i}] ({type}): {back[i]} vs {orig[i]}");
            }
        }
    }

    [Fact]
    public void Gpt2OptionsLlamaCppCannotRunAreRefused()
    {
        var cfg = new ModelConfig { Style = ModelStyle.Gpt2, NumLayers = 1, NumHeads = 2, NumKvHeads = 2, HiddenSize = 32, IntermediateSize = 128, MaxPositions = 16, VocabSize = 64, PaddedVocabSize = 64, Alibi = true }.Validate();
        var e = Assert.Throws<ArgumentException>(() => GgufExport.BuildGpt2(cfg, new RandomSource(1), null, GgmlType.F32, "x"));
        Assert.Contains("alibi=True", e.Message);
    }

    private static double BlockMax(float[] a, int i, int cols)
    {
        int start = i / 32 * 32;
        double m = 0;
        for (int k = start; k < start + 32; k++) m = Math.Max(m, Math.Abs(a[k]));
        return m;
    }

    [Fact]
    public void PermutedRowsWithAdjacentPairRopeGiveTheSameScores()
    {
        int heads = 2, HS = 8, C = 6, T = 5;
        var r = new Random(3);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var wq = Rand(heads * HS * C); var wk = Rand(heads * HS * C); var x = Rand(T * C);
        float[] Proj(float[] w) { var o = new float[T * heads * HS]; for (int t = 0; t < T; t++) for (int j = 0; j < heads * HS; j++) { double s = 0; for (int c = 0; c < C; c++) s += w[j * C + c] * x[t * C + c]; o[t * heads * HS + j] = (float)s; } return o; }
        float[] Roped(float[] w, RopeStyle style) { var p = Proj(w); var o = new float[p.Length]; Rope.ForwardReference(o, p, 1, T, heads, HS, style); return o; }
        var qh = Roped(wq, RopeStyle.RotateHalf); var kh = Roped(wk, RopeStyle.RotateHalf);
        var qi = Roped(GgufExport.PermuteRope(wq, heads, HS, C), RopeStyle.Interleaved);
        var ki = Roped(GgufExport.PermuteRope(wk, heads, HS, C), RopeStyle.Interleaved);
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++)
                {
                    double a = 0, b = 0;
                    for (int d = 0; d < HS; d++) { a += qh[(i * heads + h) * HS + d] * kh[(j * heads + h) * HS + d]; b += qi[(i * heads + h) * HS + d] * ki[(j * heads + h) * HS + d]; }
                    Assert.True(Math.Abs(a - b) < 1e-5, $"head {h} q{i}·k{j}: {a} vs {b}");
                }
        // Without the permutation the scores differ: the test can fail.
        var qn = Roped(wq, RopeStyle.Interleaved); var kn = Roped(wk, RopeStyle.Interleaved);
        double diff = 0;
        for (int d = 0; d < HS; d++) diff += qh[(T - 1) * heads * HS + d] * kh[d] - qn[(T - 1) * heads * HS + d] * kn[d];
        Assert.True(Math.Abs(diff) > 1e-4);
    }

    internal static BpeTokenizer SmallTokenizer()
    {
        var toks = new List<byte[]?>();
        for (int b = 0; b < 256; b++) toks.Add([(byte)b]);
        toks.Add("th"u8.ToArray()); toks.Add("he"u8.ToArray()); toks.Add("the"u8.ToArray()); toks.Add(" the"u8.ToArray());
        toks.Add(null);
        return BpeTokenizer.FromRanks(toks, new Dictionary<string, int> { ["<|endoftext|>"] = 260 }, PreTokenizerPatterns.Gpt2);
    }

    [Fact]
    public void TokenizerKeysFollowTheByteLevelBpeLayout()
    {
        var tok = SmallTokenizer();
        var cfg = new ModelConfig { Style = ModelStyle.Llama, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, HiddenSize = 32, IntermediateSize = 64, MaxPositions = 16, VocabSize = 261, PaddedVocabSize = 264 }.Validate();
        var w = GgufExport.Build(cfg, new RandomSource(1), tok, GgmlType.F32, "tiny");
        string path = Path.Combine(_dir, "tok.gguf");
        w.Write(path);
        using var g = GgufFile.Open(path);
        Assert.Equal("gpt2", g.Get("tokenizer.ggml.model").Value);
        Assert.Equal("gpt-2", g.Get("tokenizer.ggml.pre").Value);
        var tokens = (string[])g.Get("tokenizer.ggml.tokens").Value;
        var types = (int[])g.Get("tokenizer.ggml.token_type").Value;
        Assert.Equal(264, tokens.Length);                 // one per embedding row
        Assert.Equal("Ġ", tokens[32]);                     // byte 0x20 in the byte-level alphabet
        Assert.Equal("A", tokens[65]);
        Assert.Equal("Ġthe", tokens[259]);
        Assert.Equal("<|endoftext|>", tokens[260]);
        Assert.Equal(3, types[260]); Assert.Equal(1, types[65]); Assert.Equal(5, types[263]);
        var merges = (string[])g.Get("tokenizer.ggml.merges").Value;
        Assert.Contains("t h", merges); Assert.Contains("th e", merges); Assert.Contains("Ġ the", merges);
        Assert.Equal(260UL, g.Get("tokenizer.ggml.eos_token_id").AsUInt64());
        Assert.False(g.Has("output.weight") || g.Tensors.Any(x => x.Name == "output.weight")); // tied: llama.cpp reuses token_embd
    }

    [Fact]
    public void CorruptFilesAreRefusedWithTheirNames()
    {
        string p = Path.Combine(_dir, "bad.gguf");
        File.WriteAllBytes(p, Encoding.ASCII.GetBytes("GGML").Concat(new byte[40]).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => GgufFile.Open(p));
        Assert.Contains("bad.gguf", e.Message);
        Assert.Contains("magic", e.Message);
        var w = new GgufWriter();
        w.AddTensor("t", new float[64], [64], GgmlType.F32);
        using (var fs = File.Create(p)) w.WriteTo(fs);
        var bytes = File.ReadAllBytes(p);
        File.WriteAllBytes(p, bytes[..^40]);
        e = Assert.Throws<InvalidDataException>(() => GgufFile.Open(p));
        Assert.Contains("'t'", e.Message);
    }
}
