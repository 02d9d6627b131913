// GGUF exports checked by the program they are for: reference/llamacpp/make_llamacpp_golden.sh exported the
// llama_bpe fixture (GQA, byte-level BPE vocabulary) as f32, f16 and q8_0 and greedy-decoded it with llama.cpp
// (node-llama-cpp 3.21.1). llama.cpp's tokens must equal PyTorch's — which holds only if names, keys, the
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
    [InlineData("f32")]
    [InlineData("f16")]
    [InlineData("q8_0")]
    public void LlamaCppDecodesTheExportLikePyTorch(string type)
    {
        var g = GoldenGenerateTests.Load("llama_bpe");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldenGenerateTests.Dir("llama_bpe"), "llamacpp.json")));
        var e = doc.RootElement.GetProperty("exports").GetProperty(type);
        var llamaTokens = e.GetProperty("llamacpp").GetProperty("tokens").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.Equal(g.Prompt, doc.RootElement.GetProperty("prompt").EnumerateArray().Select(x => x.GetInt32()).ToArray());
        Assert.Equal(g.Tokens[g.Prompt.Length..], llamaTokens);

        string path = Path.Combine(_dir, $"m-{type}.gguf");
        GgufExport.Export(GoldenGenerateTests.Dir("llama_bpe"), path, GgufExport.ParseType(type));
        Assert.Equal(e.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
    }
}
