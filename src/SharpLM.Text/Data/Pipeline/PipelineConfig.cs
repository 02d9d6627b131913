// A pipeline config file (pipeline.yaml / .json):
//   threads: 0            # optional, 0 = all cores
//   batch_size: 256       # optional
//   on_error: fail|skip   # optional: bad input lines/records
//   steps:
//     - extract
//     - langid: {languages: [en], threshold: 0.65}
//     - gopher_quality:
//         min_words: 50
//     - pii
// Each step is a name, or a one-key map from the name to its options (see `sharplm data steps`).
namespace SharpLM.Text.Data.Pipeline;

/// <summary>A parsed pipeline configuration.</summary>
public sealed record PipelineConfig
{
    /// <summary>Steps in order: name and options.</summary>
    public IReadOnlyList<(string Name, IReadOnlyDictionary<string, object?>? Options)> Steps { get; init; } = [];
    /// <summary>Threads (0 = all), if set.</summary>
    public int? Threads { get; init; }
    /// <summary>Batch size, if set.</summary>
    public int? BatchSize { get; init; }
    /// <summary>"fail" or "skip", if set.</summary>
    public string? OnError { get; init; }

    /// <summary>The default chain: extract, langid (en), Gopher quality and repetition, C4, FineWeb, bad words, PII.</summary>
    public static PipelineConfig Default => new()
    {
        Steps = [("extract", null), ("langid", null), ("gopher_repetition", null), ("gopher_quality", null), ("c4", null), ("fineweb", null), ("bad_words", null), ("pii", null)],
    };

    /// <summary>Reads a config file.</summary>
    public static PipelineConfig Load(string path)
    {
        var root = MiniYaml.ParseFile(path) as Dictionary<string, object?> ?? throw new InvalidDataException($"{path}: expected a map with a 'steps' list");
        var top = new StepArgs(path, root);
        var cfg = new PipelineConfig
        {
            Threads = top.Has("threads") ? top.Int("threads", 0) : null,
            BatchSize = top.Has("batch_size") ? top.Int("batch_size", 256) : null,
            OnError = top.String("on_error"),
            Steps = ParseSteps(path, root.GetValueOrDefault("steps")),
        };
        top.Has("steps");
        top.EnsureAllUsed();
        if (cfg.OnError is not (null or "fail" or "skip")) throw new InvalidDataException($"{path}: on_error must be 'fail' or 'skip'");
        return cfg;
    }

    /// <summary>Steps from a comma-separated list of names (the --steps option).</summary>
    public static PipelineConfig FromNames(string names) => new()
    {
        Steps = names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => (n, (IReadOnlyDictionary<string, object?>?)null)).ToList(),
    };

    private static List<(string, IReadOnlyDictionary<string, object?>?)> ParseSteps(string path, object? steps)
    {
        if (steps is not List<object?> list) throw new InvalidDataException($"{path}: 'steps' must be a list");
        var result = new List<(string, IReadOnlyDictionary<string, object?>?)>();
        for (int i = 0; i < list.Count; i++)
        {
            switch (list[i])
            {
                case string name: result.Add((name, null)); break;
                case Dictionary<string, object?> m when m.Count == 1:
                    var (k, v) = m.First();
                    if (v is not (null or Dictionary<string, object?>)) throw new InvalidDataException($"{path}: step {i + 1} ('{k}'): options must be a map");
                    result.Add((k, (Dictionary<string, object?>?)v));
                    break;
                default: throw new InvalidDataException($"{path}: step {i + 1}: expected a name or 'name: {{options}}'");
            }
        }
        return result;
    }

    /// <summary>Builds the pipeline items from <paramref name="catalog"/>.</summary>
    public List<PipelineItem> Build(StepCatalog catalog) => Steps.Select(s => catalog.Create(s.Name, s.Options)).ToList();
}
