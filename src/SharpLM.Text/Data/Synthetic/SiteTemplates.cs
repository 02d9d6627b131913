// HTML around an article, the way real sites wrap content: navigation, header, breadcrumbs, sidebars
// of related links, footers and cookie banners, with a few different layouts (semantic <main>/<article>,
// <div id="content"> soup, table-free blog) so boilerplate removal is measured on more than one shape.
// The article's own text is emitted only inside the content element; everything else is boilerplate.
using System.Net;
using System.Text;

namespace SharpLM.Text.Data.Synthetic;

/// <summary>One website of the synthetic crawl: name, domain and a layout.</summary>
public sealed record Site(string Name, string Domain, int Layout, string[] Nav, string Cookie, string Footer);

/// <summary>Renders articles as full HTML pages of a <see cref="Site"/>.</summary>
public static class SiteTemplates
{
    /// <summary>The sites pages are published on.</summary>
    public static readonly Site[] Sites =
    [
        new("The Valley Gazette", "valley-gazette.example", 0, ["Home", "News", "Stories", "People", "About us"],
            "We use cookies to improve your experience. By continuing to browse you accept our cookie policy.",
            "© 2024 The Valley Gazette. All rights reserved."),
        new("Northwind Encyclopedia", "northwind-wiki.example", 1, ["Main page", "Random article", "Recent changes", "Help", "Donate"],
            "This site stores cookies on your computer. Accept all cookies or manage your preferences.",
            "Text is available under the Creative Commons licence. Privacy policy. Disclaimers."),
        new("Little Learners", "little-learners.example", 2, ["Lessons", "Worksheets", "For parents", "For teachers", "Sign in"],
            "Cookies help us deliver our services. Click OK to continue.",
            "Little Learners Ltd. Made for curious minds. Terms of use."),
        new("Hearthstone Tales", "hearthstone-tales.example", 0, ["Home", "Latest", "Popular", "Authors", "Newsletter"],
            "We and our partners use cookies for analytics and personalised content. Accept or reject.",
            "Copyright 2023-2024 Hearthstone Tales. Subscribe to our newsletter for new stories every week."),
        new("Town Talk Forum", "towntalk.example", 1, ["Forums", "Members", "Search", "Log in", "Register"],
            "By using this forum you agree to the use of cookies.",
            "Powered by ForumSoft. All times are UTC. Contact the administrators."),
        new("Daily Bargains", "daily-bargains.example", 2, ["Deals", "Coupons", "Top stores", "Blog", "Sign up"],
            "We use cookies and similar technologies. Accept to get the best deals.",
            "© Daily Bargains. Prices may change without notice. Affiliate disclosure."),
    ];

    /// <summary>A full HTML document for <paramref name="article"/> on <paramref name="site"/>.</summary>
    public static string Render(Article article, Site site, string lang, IReadOnlyList<string> related)
    {
        var sb = new StringBuilder(4096);
        string E(string s) => WebUtility.HtmlEncode(s);
        sb.Append("<!DOCTYPE html>\n<html lang=\"").Append(lang).Append("\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
          .Append(E(article.Title)).Append(" | ").Append(E(site.Name)).Append("</title>\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append("<link rel=\"stylesheet\" href=\"/static/site.css\">\n")
          .Append("<script>window.dataLayer = window.dataLayer || []; function track(e) { dataLayer.push(e); }</script>\n")
          .Append("<style>.cookie-banner { position: fixed; bottom: 0; } nav li { display: inline; }</style>\n</head>\n<body>\n");
        string cookie = $"<div class=\"cookie-banner\" id=\"cookie-consent\"><p>{E(site.Cookie)}</p><button>Accept</button> <button>Reject</button></div>\n";
        if (site.Layout != 1) sb.Append(cookie);

        var nav = new StringBuilder();
        nav.Append("<nav><ul>");
        foreach (var n in site.Nav) nav.Append("<li><a href=\"/").Append(n.ToLowerInvariant().Replace(' ', '-')).Append("\">").Append(E(n)).Append("</a></li>");
        nav.Append("</ul></nav>\n");

        var aside = new StringBuilder();
        aside.Append("<h3>Related</h3><ul>");
        foreach (var r in related) aside.Append("<li><a href=\"/tag/").Append(Uri.EscapeDataString(r)).Append("\">").Append(E(r)).Append("</a></li>");
        aside.Append("</ul>\n");

        switch (site.Layout)
        {
            case 0:
                sb.Append("<header><a class=\"logo\" href=\"/\">").Append(E(site.Name)).Append("</a>\n").Append(nav).Append("</header>\n");
                sb.Append("<main>\n<article>\n<h1>").Append(E(article.Title)).Append("</h1>\n");
                foreach (var p in article.Paragraphs) sb.Append("<p>").Append(E(p)).Append("</p>\n");
                sb.Append("</article>\n<aside class=\"sidebar\">").Append(aside).Append("</aside>\n</main>\n");
                sb.Append("<footer><p>").Append(E(site.Footer)).Append("</p><p><a href=\"/privacy\">Privacy</a> | <a href=\"/terms\">Terms</a> | <a href=\"/contact\">Contact</a></p></footer>\n");
                break;
            case 1:
                sb.Append("<div id=\"top\"><div class=\"site-name\">").Append(E(site.Name)).Append("</div>\n").Append(nav)
                  .Append("<div class=\"search\"><form action=\"/search\"><input name=\"q\" placeholder=\"Search\"><button>Go</button></form></div></div>\n");
                sb.Append("<div id=\"breadcrumbs\"><a href=\"/\">Home</a> &gt; <a href=\"/articles\">Articles</a> &gt; ").Append(E(article.Title)).Append("</div>\n");
                sb.Append("<div id=\"content\">\n<h1 class=\"title\">").Append(E(article.Title)).Append("</h1>\n<div class=\"body\">\n");
                foreach (var p in article.Paragraphs) sb.Append("<p>").Append(E(p)).Append("</p>\n");
                sb.Append("</div>\n</div>\n<div id=\"sidebar\">").Append(aside).Append("</div>\n");
                sb.Append("<div id=\"footer\">").Append(E(site.Footer)).Append("</div>\n").Append(cookie);
                break;
            default:
                sb.Append("<div class=\"topbar\">").Append(nav).Append("</div>\n<header class=\"masthead\"><h2>").Append(E(site.Name)).Append("</h2></header>\n");
                sb.Append("<div class=\"wrap\"><div class=\"post\">\n<h1>").Append(E(article.Title)).Append("</h1>\n<div class=\"entry\">\n");
                foreach (var p in article.Paragraphs) sb.Append("<p>").Append(E(p)).Append("</p>\n");
                sb.Append("</div>\n<div class=\"share\">Share: <a href=\"#\">Facebook</a> <a href=\"#\">Twitter</a> <a href=\"#\">Email</a></div>\n</div>\n");
                sb.Append("<div class=\"widgets\">").Append(aside).Append("<div class=\"newsletter\">Sign up for our newsletter! <input type=\"email\"></div></div></div>\n");
                sb.Append("<footer class=\"bottom\">").Append(E(site.Footer)).Append("</footer>\n");
                break;
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }
}
