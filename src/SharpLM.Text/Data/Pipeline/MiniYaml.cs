// The YAML subset pipeline configs use: block mappings and sequences by indentation, "- key: value" items,
// flow lists [a, b] and maps {k: v}, quoted or plain scalars, '#' comments. Values come back as
// Dictionary<string, object?> / List<object?> / string (numbers and booleans are converted where read).
// Not a YAML implementation: no anchors, tags, multi-line scalars or documents; those give an error naming the line.
// A .json file is read with System.Text.Json into the same shapes.
using System.Text.Json;

namespace SharpLM.Text.Data.Pipeline;

/// <summary>Parses the small YAML subset of pipeline configs (or JSON).</summary>
public static class MiniYaml
{
    /// <summary>Parses a config file (YAML subset, or JSON by extension).</summary>
    public static object? ParseFile(string path)
    {
        var text = File.ReadAllText(path);
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            try { using var d = JsonDocument.Parse(text); return FromJson(d.RootElement); }
            catch (JsonException e) { throw new InvalidDataException($"{path}: invalid JSON ({e.Message})", e); }
        }
        return Parse(text, path);
    }

    private static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Null => null,
        _ => e.GetRawText(),
    };

    private sealed record Line(int No, int Indent, string Text);

    /// <summary>Parses YAML-subset text; <paramref name="name"/> is used in errors.</summary>
    public static object? Parse(string text, string name = "config")
    {
        var lines = new List<Line>();
        int no = 0;
        foreach (var raw in text.Split('\n'))
        {
            no++;
            var l = StripComment(raw.TrimEnd('\r'));
            if (l.Trim().Length == 0 || l.Trim() == "---") continue;
            if (l.Contains('\t') && l.TrimStart(' ').StartsWith('\t')) throw new InvalidDataException($"{name}:{no}: tabs are not allowed for indentation");
            int ind = l.Length - l.TrimStart(' ').Length;
            lines.Add(new Line(no, ind, l.Trim()));
        }
        if (lines.Count == 0) return null;
        int i = 0;
        var v = ParseNode(lines, ref i, lines[0].Indent, name);
        if (i < lines.Count) throw new InvalidDataException($"{name}:{lines[i].No}: unexpected indentation");
        return v;
    }

    private static string StripComment(string l)
    {
        bool sq = false, dq = false;
        for (int i = 0; i < l.Length; i++)
        {
            char c = l[i];
            if (c == '\'' && !dq) sq = !sq;
            else if (c == '"' && !sq) dq = !dq;
            else if (c == '#' && !sq && !dq && (i == 0 || l[i - 1] == ' ')) return l[..i];
        }
        return l;
    }

    private static object? ParseNode(List<Line> lines, ref int i, int indent, string name)
    {
        var first = lines[i];
        if (first.Text.StartsWith("- ", StringComparison.Ordinal) || first.Text == "-") return ParseSeq(lines, ref i, indent, name);
        if (KeyOf(first.Text, out _, out _)) return ParseMap(lines, ref i, indent, name);
        i++;
        return Scalar(first.Text, first.No, name);
    }

    private static List<object?> ParseSeq(List<Line> lines, ref int i, int indent, string name)
    {
        var list = new List<object?>();
        while (i < lines.Count && lines[i].Indent == indent && (lines[i].Text.StartsWith("- ", StringComparison.Ordinal) || lines[i].Text == "-"))
        {
            var l = lines[i];
            string rest = l.Text == "-" ? "" : l.Text[2..].TrimStart();
            if (rest.Length == 0)
            {
                i++;
                if (i < lines.Count && lines[i].Indent > indent) list.Add(ParseNode(lines, ref i, lines[i].Indent, name));
                else list.Add(null);
            }
            else if (KeyOf(rest, out _, out _) && !rest.StartsWith('{') && !rest.StartsWith('['))
            {
                // "- key: value" starts a mapping indented past the dash.
                int inner = indent + (l.Text.Length - rest.Length);
                lines[i] = new Line(l.No, inner, rest);
                list.Add(ParseMap(lines, ref i, inner, name));
            }
            else { i++; list.Add(Scalar(rest, l.No, name)); }
        }
        return list;
    }

    private static Dictionary<string, object?> ParseMap(List<Line> lines, ref int i, int indent, string name)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (i < lines.Count && lines[i].Indent == indent && !lines[i].Text.StartsWith("- ", StringComparison.Ordinal))
        {
            var l = lines[i];
            if (!KeyOf(l.Text, out var key, out var rest)) throw new InvalidDataException($"{name}:{l.No}: expected 'key: value'");
            if (map.ContainsKey(key)) throw new InvalidDataException($"{name}:{l.No}: duplicate key '{key}'");
            i++;
            if (rest.Length > 0) map[key] = Scalar(rest, l.No, name);
            else if (i < lines.Count && (lines[i].Indent > indent || (lines[i].Indent == indent && lines[i].Text.StartsWith("- ", StringComparison.Ordinal))))
                map[key] = ParseNode(lines, ref i, lines[i].Indent, name);
            else map[key] = null;
        }
        return map;
    }

    private static bool KeyOf(string t, out string key, out string rest)
    {
        key = rest = "";
        if (t.StartsWith('"') || t.StartsWith('\''))
        {
            int end = t.IndexOf(t[0], 1);
            if (end < 0 || end + 1 >= t.Length || t[end + 1] != ':') return false;
            key = t[1..end]; rest = t[(end + 2)..].Trim();
            return true;
        }
        if (t.StartsWith('[') || t.StartsWith('{')) return false;
        int c = t.IndexOf(": ", StringComparison.Ordinal);
        if (c < 0 && t.EndsWith(':')) c = t.Length - 1;
        if (c <= 0) return false;
        key = t[..c].Trim(); rest = t[(c + 1)..].Trim();
        return true;
    }

    private static object? Scalar(string t, int no, string name)
    {
        int p = 0;
        var v = Flow(t, ref p, no, name);
        while (p < t.Length && t[p] == ' ') p++;
        if (p != t.Length) throw new InvalidDataException($"{name}:{no}: unexpected '{t[p..]}'");
        return v;
    }

    private static object? Flow(string t, ref int p, int no, string name, bool inFlow = false)
    {
        while (p < t.Length && t[p] == ' ') p++;
        if (p >= t.Length) return null;
        char c = t[p];
        if (c == '[')
        {
            p++;
            var list = new List<object?>();
            while (true)
            {
                while (p < t.Length && t[p] == ' ') p++;
                if (p >= t.Length) throw new InvalidDataException($"{name}:{no}: unclosed '['");
                if (t[p] == ']') { p++; return list; }
                list.Add(Flow(t, ref p, no, name, true));
                while (p < t.Length && t[p] == ' ') p++;
                if (p < t.Length && t[p] == ',') p++;
            }
        }
        if (c == '{')
        {
            p++;
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            while (true)
            {
                while (p < t.Length && t[p] == ' ') p++;
                if (p >= t.Length) throw new InvalidDataException($"{name}:{no}: unclosed '{{'");
                if (t[p] == '}') { p++; return map; }
                var k = Flow(t, ref p, no, name, true) as string ?? throw new InvalidDataException($"{name}:{no}: expected a key");
                while (p < t.Length && t[p] == ' ') p++;
                if (p >= t.Length || t[p] != ':') throw new InvalidDataException($"{name}:{no}: expected ':' after '{k}'");
                p++;
                map[k] = Flow(t, ref p, no, name, true);
                while (p < t.Length && t[p] == ' ') p++;
                if (p < t.Length && t[p] == ',') p++;
            }
        }
        if (c is '"' or '\'')
        {
            int end = t.IndexOf(c, p + 1);
            if (end < 0) throw new InvalidDataException($"{name}:{no}: unclosed quote");
            var s = t[(p + 1)..end];
            p = end + 1;
            return c == '"' ? s.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal) : s;
        }
        int start = p;
        while (p < t.Length && !(inFlow && t[p] is ',' or ']' or '}' or ':')) p++;
        var plain = t[start..p].Trim();
        return plain is "null" or "~" ? null : plain;
    }
}
