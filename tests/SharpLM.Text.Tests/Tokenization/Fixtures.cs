// Loads the tokenizer reference fixtures written by reference/tokenizer/make_fixtures.mjs (tiktoken rank files,
// tiktoken ids on a varied text set, Hugging Face trainer merges). Each encoding is loaded once per test run.
using System.Collections.Concurrent;
using System.Text.Json;
using SharpLM.Text.Tokenization;

namespace SharpLM.Text.Tests.Tokenization;

internal static class Fixtures
{
    public static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizer");

    private static readonly ConcurrentDictionary<string, Lazy<BpeTokenizer>> Loaded = new();

    /// <summary>gpt2, cl100k_base or o200k_base, from the committed rank file.</summary>
    public static BpeTokenizer Encoding(string name) =>
        Loaded.GetOrAdd(name, n => new Lazy<BpeTokenizer>(() => TiktokenFile.LoadKnown(Path.Combine(Dir, n + ".tiktoken.gz"), n))).Value;

    public sealed record IdCase(string Name, string? Text, byte[]? Bytes, int[] Ids)
    {
        public override string ToString() => Name;
    }

    public static JsonElement IdFile(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, name + ".ids.json"))).RootElement;

    public static List<IdCase> Cases(string name, string section = "cases")
    {
        var list = new List<IdCase>();
        foreach (var c in IdFile(name).GetProperty(section).EnumerateArray())
        {
            string? text = c.TryGetProperty("text", out var t) ? t.GetString() : null;
            byte[]? bytes = c.TryGetProperty("bytes_b64", out var b) ? Convert.FromBase64String(b.GetString()!) : null;
            var ids = c.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            list.Add(new IdCase(c.GetProperty("name").GetString()!, text, bytes, ids));
        }
        return list;
    }
}
