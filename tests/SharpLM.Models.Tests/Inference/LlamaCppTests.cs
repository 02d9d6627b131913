// GGUF exports checked by the program they are for: reference/llamacpp/make_llamacpp_golden.sh exported the
// llama_bpe fixture (llama architecture: GQA, byte-level BPE vocabulary) and the gpt2_bpe fixture (gpt2
// architecture: fused qkv, biases, learned positions, tied head) as f32, f16 and q8_0 and greedy-decoded them
// with llama.cpp (node-llama-cpp 3.21.1). llama.cpp's tokens must equal PyTorch's — which holds only if names, keys, the
// tokenizer and the Q/K RoPE permutation are right — and today's exporter must still write byte-identical
// files (same SHA-256), so that result still speaks for it.
using System.Security.Cryptography;
using System.Text.Json;
using SharpLM.Models.Inference;

namespace SharpLM.Models.Tests.Inference;

public sealed class LlamaCppTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-llamacpp-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("llama_bpe", "f32")]
    [InlineData("llama_bpe", "f16")]
    [InlineData("llama_bpe", "q8_0")]
    [InlineData("gpt2_bpe", "f32")]
    [InlineData("gpt2_bpe", "f16")]
    [InlineData("gpt2_bpe", "q8_0")]
    public void LlamaCppDecodesTheExportLikePyTorch(string fixture, string type)
    {
        var g = GoldenGenerateTests.Load(fixture);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldenGenerateTests.Dir(fixture), "llamacpp.json")));
        var e = doc.RootElement.GetProperty("exports").GetProperty(type);
        var llamaTokens = e.GetProperty("llamacpp").GetProperty("tokens").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.Equal(g.Prompt, doc.RootElement.GetProperty("prompt").EnumerateArray().Select(x => x.GetInt32()).ToArray());
        Assert.Equal(g.Tokens[g.Prompt.Length..], llamaTokens);

        string path = Path.Combine(_dir, $"{fixture}-{type}.gguf");
        GgufExport.Export(GoldenGenerateTests.Dir(fixture), path, GgufExport.ParseType(type));
        Assert.Equal(e.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
    }
}
