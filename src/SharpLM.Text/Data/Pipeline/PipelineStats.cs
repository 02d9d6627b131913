// The funnel of a pipeline run (stats.json): documents and UTF-8 bytes into and out of every step, with the
// removal reasons, plus the input/output totals and skipped bad inputs; with a tokenizer (`data run --tokenizer`)
// also the tokens into and out of every step (absent from the JSON otherwise).
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpLM.Text.Data.Pipeline;

/// <summary>Counts of one step.</summary>
public sealed class StepStats
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("docs_in")] public long DocsIn { get; set; }
    [JsonPropertyName("docs_out")] public long DocsOut { get; set; }
    [JsonPropertyName("bytes_in")] public long BytesIn { get; set; }
    [JsonPropertyName("bytes_out")] public long BytesOut { get; set; }
    [JsonPropertyName("tokens_in"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? TokensIn { get; set; }
    [JsonPropertyName("tokens_out"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? TokensOut { get; set; }
    [JsonPropertyName("seconds")] public double Seconds { get; set; }
    [JsonPropertyName("removed")] public SortedDictionary<string, long> Removed { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The whole run.</summary>
public sealed class PipelineStats
{
    [JsonPropertyName("docs_in")] public long DocsIn { get; set; }
    [JsonPropertyName("bytes_in")] public long BytesIn { get; set; }
    [JsonPropertyName("docs_out")] public long DocsOut { get; set; }
    [JsonPropertyName("bytes_out")] public long BytesOut { get; set; }
    [JsonPropertyName("tokens_in"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? TokensIn { get; set; }
    [JsonPropertyName("tokens_out"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? TokensOut { get; set; }
    [JsonPropertyName("skipped_inputs")] public long SkippedInputs { get; set; }
    [JsonPropertyName("skipped_samples")] public List<string> SkippedSamples { get; set; } = [];
    [JsonPropertyName("seconds")] public double Seconds { get; set; }
    [JsonPropertyName("threads")] public int Threads { get; set; }
    [JsonPropertyName("steps")] public List<StepStats> Steps { get; set; } = [];

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    /// <summary>The JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Reads stats.json.</summary>
    public static PipelineStats Load(string path)
    {
        try { return JsonSerializer.Deserialize<PipelineStats>(File.ReadAllText(path), Options) ?? throw new InvalidDataException($"{path}: empty"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a stats.json ({e.Message})", e); }
    }
}
