// Compact JSON string escaping as serde_json writes it (the JSON writer of the safetensors reference):
// '"' and '\' escaped, \b \f \n \r \t by name, other control characters as \u00xx (lowercase hex),
// everything else — including non-ASCII — written as is. Used where we must be byte-identical to it.
// Not a general JSON writer: System.Text.Json is used everywhere byte identity does not matter.
using System.Text;

namespace SharpLM.Models.IO;

internal static class JsonText
{
    public static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20) sb.Append("\\u00").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
