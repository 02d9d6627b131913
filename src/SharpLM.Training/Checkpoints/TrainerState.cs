// trainer_state.json: everything besides weights and optimizer moments needed to resume a run bit for bit —
// optimizer step, tokens seen, elapsed time, the data loader's position (with the options it belongs to),
// the training RNG state and the latest metrics. Written with Utf8JsonWriter and read with JsonDocument
// (no reflection); 64-bit RNG words are hex strings so JSON readers that use doubles cannot round them;
// non-finite metrics are written as null. Not here: the model config (config.json) or weights.
using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpLM.Training.Data;

namespace SharpLM.Training.Checkpoints;

/// <summary>Resumable trainer state.</summary>
public sealed record TrainerState
{
    /// <summary>Optimizer steps completed.</summary>
    public required long Step { get; init; }
    /// <summary>Training tokens consumed so far (all ranks).</summary>
    public long TokensSeen { get; init; }
    /// <summary>Wall-clock seconds of training so far.</summary>
    public double ElapsedSeconds { get; init; }
    /// <summary>Training loader position, if the run uses one.</summary>
    public LoaderPosition? DataPosition { get; init; }
    /// <summary>State words of the training RNG (opaque to the checkpoint).</summary>
    public ulong[] RngState { get; init; } = [];
    /// <summary>Latest metrics by name (loss, val_loss, lr, …).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Value equality including the arrays and the metric map.</summary>
    public bool Equals(TrainerState? o) =>
        o is not null && Step == o.Step && TokensSeen == o.TokensSeen && ElapsedSeconds.Equals(o.ElapsedSeconds) &&
        Equals(DataPosition, o.DataPosition) && RngState.AsSpan().SequenceEqual(o.RngState) &&
        Metrics.Count == o.Metrics.Count && Metrics.All(kv => o.Metrics.TryGetValue(kv.Key, out var v) && v.Equals(kv.Value));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Step, TokensSeen, ElapsedSeconds);

    /// <summary>The JSON text.</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("step", Step);
            w.WriteNumber("tokens_seen", TokensSeen);
            w.WriteNumber("elapsed_seconds", ElapsedSeconds);
            if (DataPosition is { } p)
            {
                w.WriteStartObject("data_position");
                w.WriteNumber("epoch", p.Epoch);
                w.WriteNumber("row", p.Row);
                w.WriteNumber("slot_count", p.SlotCount);
                w.WriteNumber("batch_size", p.Options.BatchSize);
                w.WriteNumber("seq_len", p.Options.SeqLen);
                w.WriteString("mode", p.Options.Mode == SamplingMode.Random ? "random" : "sequential");
                w.WriteString("seed", p.Options.Seed.ToString("x16", CultureInfo.InvariantCulture));
                w.WriteBoolean("align_to_documents", p.Options.AlignToDocuments);
                w.WriteNumber("rank", p.Options.Rank);
                w.WriteNumber("world_size", p.Options.WorldSize);
                w.WriteEndObject();
            }
            w.WriteStartArray("rng_state");
            foreach (ulong u in RngState) w.WriteStringValue(u.ToString("x16", CultureInfo.InvariantCulture));
            w.WriteEndArray();
            w.WriteStartObject("metrics");
            foreach (var (k, v) in Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (double.IsFinite(v)) w.WriteNumber(k, v);
                else w.WriteNull(k);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>Parses trainer_state.json text; <paramref name="source"/> names it in errors.</summary>
    public static TrainerState Parse(string json, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{source}: expected a JSON object");
            LoaderPosition? pos = null;
            if (r.TryGetProperty("data_position", out var dp) && dp.ValueKind != JsonValueKind.Null)
            {
                string mode = Str(dp, "mode", source, "data_position.");
                var opts = new LoaderOptions(
                    (int)Long(dp, "batch_size", source, "data_position."), (int)Long(dp, "seq_len", source, "data_position."),
                    mode switch
                    {
                        "random" => SamplingMode.Random,
                        "sequential" => SamplingMode.Sequential,
                        _ => throw new InvalidDataException($"{source}: field 'data_position.mode' is '{mode}'; expected 'random' or 'sequential'"),
                    },
                    Hex(Str(dp, "seed", source, "data_position."), source, "data_position.seed"),
                    Bool(dp, "align_to_documents", source, "data_position."),
                    (int)Long(dp, "rank", source, "data_position."), (int)Long(dp, "world_size", source, "data_position."));
                pos = new LoaderPosition(Long(dp, "epoch", source, "data_position."), Long(dp, "row", source, "data_position."), Long(dp, "slot_count", source, "data_position."), opts);
            }
            var rng = new List<ulong>();
            if (r.TryGetProperty("rng_state", out var rs))
            {
                if (rs.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{source}: field 'rng_state' must be an array of hex strings");
                int i = 0;
                foreach (var e in rs.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{source}: field 'rng_state[{i}]' must be a hex string");
                    rng.Add(Hex(e.GetString()!, source, $"rng_state[{i++}]"));
                }
            }
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            if (r.TryGetProperty("metrics", out var ms))
            {
                if (ms.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{source}: field 'metrics' must be an object");
                foreach (var m in ms.EnumerateObject())
                {
                    metrics[m.Name] = m.Value.ValueKind switch
                    {
                        JsonValueKind.Number => m.Value.GetDouble(),
                        JsonValueKind.Null => double.NaN,
                        _ => throw new InvalidDataException($"{source}: field 'metrics.{m.Name}' must be a number or null"),
                    };
                }
            }
            return new TrainerState
            {
                Step = Long(r, "step", source, ""),
                TokensSeen = r.TryGetProperty("tokens_seen", out _) ? Long(r, "tokens_seen", source, "") : 0,
                ElapsedSeconds = r.TryGetProperty("elapsed_seconds", out var el) && el.ValueKind == JsonValueKind.Number ? el.GetDouble() : 0,
                DataPosition = pos,
                RngState = rng.ToArray(),
                Metrics = metrics,
            };
        }
    }

    private static long Long(JsonElement o, string f, string source, string prefix)
    {
        if (!o.TryGetProperty(f, out var v)) throw new InvalidDataException($"{source}: field '{prefix}{f}' missing (expected an integer)");
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x)) throw new InvalidDataException($"{source}: field '{prefix}{f}' must be an integer, got {v.GetRawText()}");
        return x;
    }

    private static string Str(JsonElement o, string f, string source, string prefix)
    {
        if (!o.TryGetProperty(f, out var v) || v.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{source}: field '{prefix}{f}' missing or not a string");
        return v.GetString()!;
    }

    private static bool Bool(JsonElement o, string f, string source, string prefix)
    {
        if (!o.TryGetProperty(f, out var v) || (v.ValueKind != JsonValueKind.True && v.ValueKind != JsonValueKind.False))
            throw new InvalidDataException($"{source}: field '{prefix}{f}' missing or not true/false");
        return v.ValueKind == JsonValueKind.True;
    }

    private static ulong Hex(string s, string source, string field) =>
        ulong.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong u) && s.Length is > 0 and <= 16
            ? u : throw new InvalidDataException($"{source}: field '{field}' must be a 64-bit hex string, got '{s}'");
}
