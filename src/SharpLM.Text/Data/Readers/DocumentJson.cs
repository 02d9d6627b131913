// One document ⇄ one JSONL line: {"id","text","url","source","metadata":{…}} (ARCHITECTURE.md). Unknown
// top-level fields of an input line (e.g. "language", "label" in other tools' dumps) are kept in metadata so
// nothing is lost on the way through. Not a general JSON mapper: metadata values are strings, numbers,
// booleans, null, or raw JSON for nested values.
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SharpLM.Text.Data.Readers;

/// <summary>Reads and writes the JSONL form of a <see cref="Document"/>.</summary>
public static class DocumentJson
{
    /// <summary>Parses one JSONL line. <paramref name="where"/> (file:line) is used in error messages and as the fallback id.</summary>
    public static Document Parse(ReadOnlySpan<byte> line, string where, string? source = null)
    {
        string? id = null, text = null, url = null, src = source;
        var meta = new Dictionary<string, object?>();
        try
        {
            var r = new Utf8JsonReader(line, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject)
                throw new InvalidDataException($"{where}: expected a JSON object per line");
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                string name = r.GetString()!;
                r.Read();
                switch (name)
                {
                    case "id": id = ScalarAsString(ref r); break;
                    case "text":
                        if (r.TokenType != JsonTokenType.String) throw new InvalidDataException($"{where}: field \"text\" must be a string");
                        text = r.GetString(); break;
                    case "url": url = r.TokenType == JsonTokenType.Null ? null : ScalarAsString(ref r); break;
                    case "source": src = r.TokenType == JsonTokenType.Null ? src : ScalarAsString(ref r); break;
                    case "metadata":
                        if (r.TokenType == JsonTokenType.StartObject)
                        {
                            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                            {
                                string k = r.GetString()!;
                                r.Read();
                                meta[k] = ReadValue(ref r);
                            }
                        }
                        else if (r.TokenType != JsonTokenType.Null) throw new InvalidDataException($"{where}: field \"metadata\" must be an object");
                        break;
                    default: meta[name] = ReadValue(ref r); break;
                }
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: invalid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{where}: not valid UTF-8 ({e.Message})", e);
        }
        if (text is null) throw new InvalidDataException($"{where}: missing string field \"text\"");
        return new Document { Id = id ?? where, Text = text, Url = url, Source = src, Metadata = meta };
    }

    private static string ScalarAsString(ref Utf8JsonReader r) => r.TokenType switch
    {
        JsonTokenType.String => r.GetString()!,
        JsonTokenType.Number => Encoding.UTF8.GetString(r.ValueSpan),
        _ => throw new JsonException($"expected a string or number, found {r.TokenType}"),
    };

    private static object? ReadValue(ref Utf8JsonReader r)
    {
        switch (r.TokenType)
        {
            case JsonTokenType.String: return r.GetString();
            case JsonTokenType.Number: return r.TryGetInt64(out long l) ? (object)l : r.GetDouble();
            case JsonTokenType.True: return true;
            case JsonTokenType.False: return false;
            case JsonTokenType.Null: return null;
            default:
                using (var doc = JsonDocument.ParseValue(ref r)) return doc.RootElement.Clone();
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
            case float f: w.WriteNumberValue(Math.Round(f, 6)); break;
            case double x: w.WriteNumberValue(double.IsFinite(x) ? Math.Round(x, 6) : 0); break;
            case JsonElement e: e.WriteTo(w); break;
            case IEnumerable<string> list:
                w.WriteStartArray();
                foreach (var s in list) w.WriteStringValue(s);
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(Convert.ToString(v, CultureInfo.InvariantCulture)); break;
        }
    }

    /// <summary>The JSONL line of a document (no trailing newline).</summary>
    public static string ToLine(Document d)
    {
        var buf = new ArrayBufferWriter<byte>(d.Text.Length + 128);
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
