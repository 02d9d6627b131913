// HTML → main text. Parses with AngleSharp (a WHATWG-conformant parser: entities, broken markup and implicit
// tags handled as browsers do), picks the content root (<main>, else a single <article>, else <body>), then
// walks the DOM emitting one line per block (headings, paragraphs, list items, table rows, code lines) and
// dropping boilerplate: non-content tags (script, style, nav, header/footer outside an article, aside, form, …),
// elements whose role/id/class names a boilerplate region (cookie, consent, banner, menu, sidebar, share, ad, …)
// and link lists (blocks whose text is mostly link text). The output follows trafilatura's plain-text shape:
// blocks separated by '\n', table cells by ' | ', preformatted code kept line by line.
// Not here: readability-style scoring of competing content candidates, comment extraction, date/author metadata.
using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace SharpLM.Text.Data.Extraction;

/// <summary>Options of <see cref="HtmlExtractor"/>.</summary>
public sealed record ExtractionOptions
{
    /// <summary>Drop blocks with at least this many links whose link text is more than <see cref="MaxLinkDensity"/> of their text.</summary>
    public int LinkListMinLinks { get; init; } = 3;
    /// <summary>Link-text fraction above which a block with many links is navigation.</summary>
    public double MaxLinkDensity { get; init; } = 0.6;
    /// <summary>Keep tables (as ' | '-separated rows).</summary>
    public bool KeepTables { get; init; } = true;
    /// <summary>Keep pre/code blocks.</summary>
    public bool KeepCode { get; init; } = true;
}

/// <summary>Extracts the main text of an HTML page.</summary>
public sealed class HtmlExtractor(ExtractionOptions? options = null)
{
    private readonly ExtractionOptions _o = options ?? new ExtractionOptions();
    private readonly HtmlParser _parser = new(new HtmlParserOptions { IsScripting = false });

    private static readonly HashSet<string> DropTags = new(StringComparer.Ordinal)
    {
        "script", "style", "noscript", "nav", "aside", "form", "iframe", "svg", "template", "button", "select",
        "input", "textarea", "object", "embed", "canvas", "menu", "dialog", "head", "link", "meta", "audio", "video", "map",
    };

    private static readonly HashSet<string> BlockTags = new(StringComparer.Ordinal)
    {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "thead", "tbody",
        "pre", "blockquote", "section", "article", "main", "figure", "figcaption", "caption", "address", "hr", "details", "summary",
        "header", "footer",
    };

    // Tokens of id/class/role values that mark boilerplate regions (matched as whole '-'/'_'/' '-separated tokens).
    private static readonly HashSet<string> BoilerplateTokens = new(StringComparer.Ordinal)
    {
        "nav", "navbar", "navigation", "menu", "menubar", "topbar", "breadcrumb", "breadcrumbs", "sidebar", "cookie", "cookies",
        "consent", "gdpr", "banner", "footer", "share", "sharing", "social", "ad", "ads", "advert", "advertisement", "sponsored",
        "sponsor", "promo", "popup", "modal", "newsletter", "subscribe", "related", "widget", "masthead", "skip", "pagination",
        "contentinfo", "complementary", "toolbar", "signup", "login",
    };

    /// <summary>The main text of <paramref name="html"/>; the page title goes to <paramref name="title"/>.</summary>
    public string Extract(string html, out string? title)
    {
        var doc = _parser.ParseDocument(html);
        title = doc.Title is { Length: > 0 } t ? t.Trim() : null;
        IElement? root = doc.QuerySelector("main");
        if (root is null)
        {
            var articles = doc.QuerySelectorAll("article");
            root = articles.Length == 1 ? articles[0] : doc.Body ?? doc.DocumentElement;
        }
        if (root is null) return "";
        var w = new Walker(this, new StringBuilder(html.Length / 4));
        w.Walk(root, inArticle: root.LocalName is "main" or "article", inPre: false);
        return Normalize(w.Sb);
    }

    /// <summary>The main text of <paramref name="html"/>.</summary>
    public string Extract(string html) => Extract(html, out _);

    private bool IsBoilerplate(IElement e, bool inArticle)
    {
        string tag = e.LocalName;
        if (DropTags.Contains(tag)) return true;
        if ((tag == "header" || tag == "footer") && !inArticle) return true;
        if (e.GetAttribute("aria-hidden") == "true" || e.HasAttribute("hidden")) return true;
        string? role = e.GetAttribute("role");
        if (role is "navigation" or "banner" or "contentinfo" or "complementary" or "menu" or "dialog" or "alertdialog" or "search") return true;
        if (HasBoilerplateToken(e.Id) || HasBoilerplateToken(e.ClassName)) return true;
        if (e.GetAttribute("style") is { } style && style.Replace(" ", "", StringComparison.Ordinal).Contains("display:none", StringComparison.OrdinalIgnoreCase)) return true;
        if (tag is "ul" or "ol" or "div" or "table" or "section" or "p" or "dl" && IsLinkList(e)) return true;
        return false;
    }

    private static bool HasBoilerplateToken(string? value)
    {
        if (string.IsNullOrEmpty(value)) return false;
        Span<char> buf = stackalloc char[24];
        foreach (var range in value.AsSpan().SplitAny(" -_\t"))
        {
            var tok = value.AsSpan(range);
            if (tok.Length == 0 || tok.Length > 24) continue;
            Span<char> lower = buf[..tok.Length];
            tok.ToLowerInvariant(lower);
            if (BoilerplateTokens.GetAlternateLookup<ReadOnlySpan<char>>().Contains(lower)) return true;
        }
        return false;
    }

    private bool IsLinkList(IElement e)
    {
        var links = e.GetElementsByTagName("a");
        if (links.Length < _o.LinkListMinLinks) return false;
        int linkChars = 0;
        foreach (var a in links) linkChars += CountNonSpace(a.TextContent);
        int all = CountNonSpace(e.TextContent);
        return all == 0 || linkChars > _o.MaxLinkDensity * all;
    }

    private static int CountNonSpace(string s)
    {
        int n = 0;
        foreach (char c in s) if (!char.IsWhiteSpace(c)) n++;
        return n;
    }

    private static string Normalize(StringBuilder sb)
    {
        var outSb = new StringBuilder(sb.Length);
        string all = sb.ToString();
        foreach (var range in all.AsSpan().Split('\n'))
        {
            var line = all.AsSpan(range).TrimEnd();
            if (line.IsWhiteSpace()) continue;
            if (outSb.Length > 0) outSb.Append('\n');
            outSb.Append(line);
        }
        return outSb.ToString();
    }

    private readonly struct Walker(HtmlExtractor x, StringBuilder sb)
    {
        public StringBuilder Sb => sb;

        public void Walk(INode node, bool inArticle, bool inPre)
        {
            foreach (var child in node.ChildNodes)
            {
                if (child is IText text) { AppendText(text.Data, inPre); continue; }
                if (child is not IElement e) continue;
                if (x.IsBoilerplate(e, inArticle)) continue;
                string tag = e.LocalName;
                bool article = inArticle || tag is "article" or "main";
                switch (tag)
                {
                    case "br": Newline(); continue;
                    case "pre":
                        if (!x._o.KeepCode) continue;
                        Newline();
                        Walk(e, article, inPre: true);
                        Newline();
                        continue;
                    case "table" when !x._o.KeepTables: continue;
                    case "td" or "th":
                        if (sb.Length > 0 && sb[^1] != '\n') sb.Append(" | ");
                        Walk(e, article, inPre);
                        continue;
                    case "img": continue;
                }
                bool block = BlockTags.Contains(tag);
                if (block) Newline();
                Walk(e, article, inPre);
                if (block) Newline();
            }
        }

        private void Newline()
        {
            while (sb.Length > 0 && sb[^1] == ' ') sb.Length--;
            if (sb.Length > 0 && sb[^1] != '\n') sb.Append('\n');
        }

        private void AppendText(string s, bool inPre)
        {
            if (inPre) { sb.Append(s.Replace("\r\n", "\n", StringComparison.Ordinal)); return; }
            bool space = sb.Length > 0 && sb[^1] is ' ' or '\n';
            foreach (char c in s)
            {
                if (char.IsWhiteSpace(c) || c == '\u00a0')
                {
                    if (!space && sb.Length > 0) { sb.Append(' '); space = true; }
                    continue;
                }
                sb.Append(c);
                space = false;
            }
        }
    }
}
