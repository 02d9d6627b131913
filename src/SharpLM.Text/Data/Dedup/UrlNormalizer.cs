// URL normalisation for URL-level deduplication, after RFC 3986 §6 (syntax-based normalisation) plus the
// usual crawl-dedup rules: lower-case scheme and host, drop a trailing dot on the host and the default
// port of the scheme, percent-encodings in upper case with unreserved characters decoded, dot segments
// removed, empty path → "/", a trailing slash on a non-root path dropped, the fragment dropped, tracking
// parameters (utm_*, fbclid, gclid, …) and empty parameters dropped and the rest sorted. Optionally
// "www." is stripped from the host. Hand-written rather than System.Uri, which throws on much of the
// web's malformed URLs and re-escapes differently across platforms.
// Not here: resolving relative URLs, IDNA/punycode conversion, query-value semantics of particular sites.
using System.Text;

namespace SharpLM.Text.Data.Dedup;

/// <summary>Turns a URL into a canonical string so equivalent URLs compare equal.</summary>
public static class UrlNormalizer
{
    private static readonly HashSet<string> TrackingParams = new(StringComparer.OrdinalIgnoreCase)
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "igshid",
        "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url", "spm",
        "oly_anon_id", "oly_enc_id", "vero_id", "s_cid", "icid", "cmpid", "wt.mc_id",
    };

    /// <summary>Whether a query key is a tracking parameter (utm_* or one of the known click ids).</summary>
    public static bool IsTrackingParameter(string key) =>
        key.StartsWith("utm_", StringComparison.OrdinalIgnoreCase) || TrackingParams.Contains(key);

    /// <summary>The canonical form of <paramref name="url"/>; strings without a "scheme://" prefix are only trimmed and stripped of their fragment.</summary>
    public static string Normalize(string url, bool stripWww = false)
    {
        var s = url.AsSpan().Trim();
        int hash = s.IndexOf('#');
        if (hash >= 0) s = s[..hash];
        int sep = s.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0 || !IsScheme(s[..sep])) return s.ToString();
        string scheme = s[..sep].ToString().ToLowerInvariant();
        var rest = s[(sep + 3)..];

        int authEnd = rest.IndexOfAny('/', '?');
        var authority = authEnd < 0 ? rest : rest[..authEnd];
        rest = authEnd < 0 ? [] : rest[authEnd..];
        int q = rest.IndexOf('?');
        var path = q < 0 ? rest : rest[..q];
        var query = q < 0 ? [] : rest[(q + 1)..];

        var sb = new StringBuilder(url.Length);
        sb.Append(scheme).Append("://");
        AppendAuthority(sb, authority, scheme, stripWww);
        AppendPath(sb, path);
        AppendQuery(sb, query);
        return sb.ToString();
    }

    private static bool IsScheme(ReadOnlySpan<char> s)
    {
        if (!char.IsAsciiLetter(s[0])) return false;
        foreach (char c in s) if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.')) return false;
        return true;
    }

    private static int DefaultPort(string scheme) => scheme switch
    {
        "http" or "ws" => 80,
        "https" or "wss" => 443,
        "ftp" => 21,
        _ => -1,
    };

    private static void AppendAuthority(StringBuilder sb, ReadOnlySpan<char> authority, string scheme, bool stripWww)
    {
        int at = authority.LastIndexOf('@');
        if (at >= 0) { sb.Append(authority[..(at + 1)]); authority = authority[(at + 1)..]; }
        // host[:port]; IPv6 literals are bracketed so their colons are not the port's.
        int colon = authority.LastIndexOf(':');
        if (colon >= 0 && authority.LastIndexOf(']') > colon) colon = -1;
        var host = colon < 0 ? authority : authority[..colon];
        var port = colon < 0 ? [] : authority[(colon + 1)..];
        string h = host.ToString().ToLowerInvariant();
        if (h.EndsWith('.') && h.Length > 1) h = h[..^1];
        if (stripWww && h.StartsWith("www.", StringComparison.Ordinal) && h.Length > 4) h = h[4..];
        sb.Append(h);
        if (port.IsEmpty) return;
        if (int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int p))
        {
            if (p != DefaultPort(scheme)) sb.Append(':').Append(p);
        }
        else sb.Append(':').Append(port);
    }

    private static void AppendPath(StringBuilder sb, ReadOnlySpan<char> path)
    {
        string p = NormalizePercent(path);
        var output = new List<string>();
        // RFC 3986 §5.2.4 remove_dot_segments, on the split segments.
        var segs = p.Split('/');
        for (int i = 1; i < segs.Length; i++)
        {
            string seg = segs[i];
            bool last = i == segs.Length - 1;
            if (seg == ".") { if (last) output.Add(""); continue; }
            if (seg == "..") { if (output.Count > 0) output.RemoveAt(output.Count - 1); if (last) output.Add(""); continue; }
            output.Add(seg);
        }
        // A trailing slash on a non-root path is dropped ("/a/" ≡ "/a").
        while (output.Count > 0 && output[^1].Length == 0) output.RemoveAt(output.Count - 1);
        if (output.Count == 0) { sb.Append('/'); return; }
        foreach (var seg in output) sb.Append('/').Append(seg);
    }

    private static void AppendQuery(StringBuilder sb, ReadOnlySpan<char> query)
    {
        if (query.IsEmpty) return;
        var kept = new List<string>();
        foreach (var range in query.Split('&'))
        {
            var part = query[range];
            if (part.IsEmpty) continue;
            int eq = part.IndexOf('=');
            string key = NormalizePercent(eq < 0 ? part : part[..eq]);
            if (key.Length == 0 || IsTrackingParameter(key)) continue;
            kept.Add(eq < 0 ? key : key + "=" + NormalizePercent(part[(eq + 1)..]));
        }
        if (kept.Count == 0) return;
        kept.Sort(StringComparer.Ordinal);
        sb.Append('?').AppendJoin('&', kept);
    }

    // Percent-encodings: %xx of an unreserved character (ALPHA / DIGIT / - . _ ~) is decoded, others are
    // upper-cased (RFC 3986 §6.2.2.1–2); a stray '%' is kept as it stands.
    private static string NormalizePercent(ReadOnlySpan<char> s)
    {
        if (!s.Contains('%')) return s.ToString();
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '%' && i + 2 < s.Length && char.IsAsciiHexDigit(s[i + 1]) && char.IsAsciiHexDigit(s[i + 2]))
            {
                int v = Convert.ToInt32(s.Slice(i + 1, 2).ToString(), 16);
                char d = (char)v;
                if (char.IsAsciiLetterOrDigit(d) || d is '-' or '.' or '_' or '~') sb.Append(d);
                else sb.Append('%').Append(char.ToUpperInvariant(s[i + 1])).Append(char.ToUpperInvariant(s[i + 2]));
                i += 2;
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
