// URL/domain blocklist (as the UT1 blocklist step of FineWeb and Dolma's URL filters): a document is dropped
// when its URL's host or any parent domain is listed ("example.com" blocks "ads.example.com"), or its full
// normalised URL is listed. Lists are plain text, one domain or URL per line, '#' comments.
namespace SharpLM.Text.Data.Content;

/// <summary>Drops documents from blocked domains or URLs.</summary>
public sealed class UrlBlocklistFilter : IParallelSafeFilter
{
    private readonly HashSet<string> _domains = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _urls = new(StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public string Name => "url_blocklist";

    /// <summary>A filter over the given entries (domains or URLs).</summary>
    public UrlBlocklistFilter(IEnumerable<string> entries)
    {
        foreach (var raw in entries)
        {
            var e = raw.Trim();
            if (e.Length == 0 || e[0] == '#') continue;
            if (e.Contains('/')) _urls.Add(NormalizeUrl(e));
            else _domains.Add(e.TrimStart('.').TrimEnd('.'));
        }
    }

    /// <summary>Reads a list file.</summary>
    public static UrlBlocklistFilter FromFile(string path) => new(File.ReadLines(path));

    /// <summary>Number of entries.</summary>
    public int Count => _domains.Count + _urls.Count;

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        if (string.IsNullOrEmpty(doc.Url)) return FilterVerdict.Kept;
        if (_urls.Count > 0 && _urls.Contains(NormalizeUrl(doc.Url))) return FilterVerdict.Drop($"{Name}:url");
        var host = HostOf(doc.Url);
        if (host is null) return FilterVerdict.Kept;
        var span = host.AsSpan();
        var lookup = _domains.GetAlternateLookup<ReadOnlySpan<char>>();
        while (true)
        {
            if (lookup.Contains(span)) return FilterVerdict.Drop($"{Name}:domain");
            int dot = span.IndexOf('.');
            if (dot < 0) return FilterVerdict.Kept;
            span = span[(dot + 1)..];
        }
    }

    /// <summary>Lower-case host of a URL (without "www."), or null.</summary>
    public static string? HostOf(string url)
    {
        if (!Uri.TryCreate(url.Contains("://", StringComparison.Ordinal) ? url : "http://" + url, UriKind.Absolute, out var u)) return null;
        var h = u.Host.ToLowerInvariant();
        return h.StartsWith("www.", StringComparison.Ordinal) ? h[4..] : h;
    }

    private static string NormalizeUrl(string url)
    {
        var s = url.Trim();
        int scheme = s.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) s = s[(scheme + 3)..];
        if (s.StartsWith("www.", StringComparison.OrdinalIgnoreCase)) s = s[4..];
        int hash = s.IndexOf('#');
        if (hash >= 0) s = s[..hash];
        return s.TrimEnd('/').ToLowerInvariant();
    }
}
