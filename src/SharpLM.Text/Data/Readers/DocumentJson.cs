// One document ⇄ one JSONL line: {"id","text","url","source","metadata":{…}} (ARCHITECTURE.md) — the only JSONL
// codec of the data pipeline: DocumentReaders (streaming, byte ranges) and DocumentJsonl (batched parallel reads,
// the dedup job's sinks) both parse and write through it. Unknown top-level fields of an input line (e.g.
// "language", "label" in other tools' dumps) are kept in metadata so nothing is lost on the way through. Metadata
// values come back as string, long, double, bool or null; nested values (objects, arrays) as a JsonElement. Field
// names are matched on the UTF-8 bytes (no string per known field). A line is rejected (with the reason) when it is
// not one JSON object, "text" is missing or not a string, "id"/"url"/"source" are not strings or numbers,
// "metadata" is not an object, or something follows the object. Doubles are written rounded to 6 decimals,
// non-finite ones as 0 (JSON has no NaN). Not a general JSON mapper.
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SharpLM.Text.Data.Readers;

/// <summary>Reads and writes the JSONL form of a <see cref="Document"/>.</summary>
public static class DocumentJson
{
    /// <summary>
    /// Parses one JSONL line. <paramref name="where"/> (file:line) starts error messages and is the id of a document
    /// without one unless <paramref name="defaultId"/> is given; <paramref name="source"/> is the source of a document without one.
    /// </summary>
    public static Document Parse(ReadOnlySpan<byte> line, string where, string? source = null, string? defaultId = null) =>
        TryParse(line, source, defaultId ?? where, out var doc, out var error) ? doc! : throw new InvalidDataException($"{where}: {error}");

    /// <summary>Parses one JSONL line without throwing: the document, or false and why the line is not one.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, string? source, string defaultId, out Document? doc, out string? error)
    {
        doc = null;
        string? id = null, text = null, url = null, src = source;
        var meta = new Dictionary<string, object?>();
        try
        {
            var r = new Utf8JsonReader(line, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) { error = "expected a JSON object per line"; return false; }
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("text"u8))
                {
                    r.Read();
                    if (r.TokenType != JsonTokenType.String) { error = $"field 'text' must be a string, got {r.TokenType}"; return false; }
                    text = r.GetString();
                }
                else if (r.ValueTextEquals("id"u8)) { r.Read(); if (!Scalar(ref r, "id", ref id, out error)) return false; }
                else if (r.ValueTextEquals("url"u8)) { r.Read(); if (!Scalar(ref r, "url", ref url, out error)) return false; }
                else if (r.ValueTextEquals("source"u8)) { r.Read(); if (!Scalar(ref r, "source", ref src, out error)) return false; }
                else if (r.ValueTextEquals("metadata"u8))
                {
                    r.Read();
                    if (r.TokenType == JsonTokenType.StartObject)
                    {
                        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                        {
                            string k = r.GetString()!;
                            r.Read();
                            meta[k] = ReadValue(ref r);
                        }
                    }
                    else if (r.TokenType != JsonTokenType.Null) { error = "field \"metadata\" must be an object"; return false; }
                }
                else
                {
                    string k = r.GetString()!;
                    r.Read();
                    meta[k] = ReadValue(ref r);
                }
            }
            if (r.TokenType != JsonTokenType.EndObject) { error = "malformed JSON object"; return false; }
            if (r.Read()) { error = "trailing content after the JSON object"; return false; }
        }
        catch (JsonException e) { error = $"invalid JSON ({e.Message})"; return false; }
        catch (InvalidOperationException e) { error = $"not valid UTF-8 ({e.Message})"; return false; }
        catch (ArgumentException e) { error = $"not valid UTF-8 ({e.Message})"; return false; }
        if (text is null) { error = "missing string field \"text\""; return false; }
        doc = new Document { Id = id ?? defaultId, Text = text, Url = url, Source = src, Metadata = meta };
        error = null;
        return true;
    }

    // A string or number field; null leaves the current value.
    private static bool Scalar(ref Utf8JsonReader r, string field, ref string? value, out string? error)
    {
        error = null;
        switch (r.TokenType)
        {
            case JsonTokenType.String: value = r.GetString(); return true;
            case JsonTokenType.Number: value = Encoding.UTF8.GetString(r.ValueSpan); return true;
            case JsonTokenType.Null: return true;
            default: error = $"field \"{field}\" must be a string or number, got {r.TokenType}"; return false;
        }
    }

    private static object? ReadValue(ref Utf8JsonReader r)
    {
        switch (r.TokenType)
        {
            case JsonTokenType.String: return r.GetString();
            case JsonTokenType.Number: return r.TryGetInt64(out long l) ? (object)l : r.GetDouble();
            case JsonTokenType.True: return true;
            case JsonTokenType.False: return false;
            case JsonTokenType.Null: return null;
            default: return JsonElement.ParseValue(ref r);
        }
    }

    /// <summary>Writes one document as a JSON object (no newline).</summary>
    public static void Write(Utf8JsonWriter w, Document d)
    {
        w.WriteStartObject();
        w.WriteString("id", d.Id);
        w.WriteString("text", d.Text);
        if (d.Url is not null) w.WriteString("url", d.Url);
        if (d.Source is not null) w.WriteString("source", d.Source);
        if (d.Metadata.Count > 0)
        {
            w.WriteStartObject("metadata");
            foreach (var (k, v) in d.Metadata) { w.WritePropertyName(k); WriteValue(w, v); }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>Writes a metadata value.</summary>
    public static void WriteValue(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case float f: w.WriteNumberValue(float.IsFinite(f) ? Math.Round(f, 6) : 0); break;
            case double x: w.WriteNumberValue(double.IsFinite(x) ? Math.Round(x, 6) : 0); break;
            case JsonElement e: e.WriteTo(w); break;
            case IEnumerable<string> list:
                w.WriteStartArray();
                foreach (var s in list) w.WriteStringValue(s);
                w.WriteEndArray();
                break;
            case IFormattable f: w.WriteStringValue(f.ToString(null, CultureInfo.InvariantCulture)); break;
            default: w.WriteStringValue(v.ToString()); break;
        }
    }

    /// <summary>The JSONL line of a document as UTF-8 (no trailing newline).</summary>
    public static byte[] Serialize(Document d)
    {
        var buf = new ArrayBufferWriter<byte>(d.Text.Length + 256);
        using (var w = new Utf8JsonWriter(buf, WriterOptions)) Write(w, d);
        return buf.WrittenSpan.ToArray();
    }

    /// <summary>The JSONL line of a document (no trailing newline).</summary>
    public static string ToLine(Document d)
    {
        var buf = new ArrayBufferWriter<byte>(d.Text.Length + 256);
        using (var w = new Utf8JsonWriter(buf, WriterOptions)) Write(w, d);
        return Encoding.UTF8.GetString(buf.WrittenSpan);
    }

    /// <summary>Compact output; non-ASCII kept as UTF-8 rather than \u escapes.</summary>
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };
}
