// The options of one configured pipeline step (a map from the config file), read with typed accessors that
// name the step and key in every error, and that reject keys no accessor asked for (catching typos).
using System.Globalization;

namespace SharpLM.Text.Data.Pipeline;

/// <summary>Typed access to a step's options.</summary>
public sealed class StepArgs(string step, IReadOnlyDictionary<string, object?>? values)
{
    private readonly IReadOnlyDictionary<string, object?> _v = values ?? new Dictionary<string, object?>();
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>The step's name in the config.</summary>
    public string Step => step;

    /// <summary>True when the key is present.</summary>
    public bool Has(string key) { _used.Add(key); return _v.ContainsKey(key); }

    /// <summary>A string option.</summary>
    public string? String(string key, string? def = null)
    {
        _used.Add(key);
        return _v.TryGetValue(key, out var o) && o is not null ? o as string ?? throw Bad(key, "a string") : def;
    }

    /// <summary>A number option.</summary>
    public double Double(string key, double def)
    {
        var s = String(key);
        if (s is null) return def;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw Bad(key, "a number");
    }

    /// <summary>An integer option.</summary>
    public int Int(string key, int def)
    {
        var s = String(key);
        if (s is null) return def;
        return int.TryParse(s.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) ? d : throw Bad(key, "an integer");
    }

    /// <summary>A boolean option.</summary>
    public bool Bool(string key, bool def)
    {
        var s = String(key);
        if (s is null) return def;
        return s.ToLowerInvariant() switch { "true" or "yes" or "on" => true, "false" or "no" or "off" => false, _ => throw Bad(key, "true or false") };
    }

    /// <summary>A list of strings (a single string is a one-element list).</summary>
    public IReadOnlyList<string>? List(string key)
    {
        _used.Add(key);
        if (!_v.TryGetValue(key, out var o) || o is null) return null;
        if (o is string s) return s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (o is List<object?> l) return l.Select(x => x as string ?? throw Bad(key, "a list of strings")).ToList();
        throw Bad(key, "a list");
    }

    /// <summary>A list of (n, fraction) pairs written as a map {n: fraction}.</summary>
    public IReadOnlyList<(int N, double Max)>? Pairs(string key)
    {
        _used.Add(key);
        if (!_v.TryGetValue(key, out var o) || o is null) return null;
        if (o is not Dictionary<string, object?> m) throw Bad(key, "a map {n: fraction}");
        return m.Select(kv => (int.Parse(kv.Key, CultureInfo.InvariantCulture), double.Parse(kv.Value as string ?? "", CultureInfo.InvariantCulture))).ToList();
    }

    /// <summary>Fails on keys that were never read.</summary>
    public void EnsureAllUsed()
    {
        foreach (var k in _v.Keys)
            if (!_used.Contains(k)) throw new InvalidDataException($"step '{step}': unknown option '{k}'");
    }

    private InvalidDataException Bad(string key, string what) => new($"step '{step}': option '{key}' must be {what}");
}
