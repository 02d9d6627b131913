// The labelled synthetic web crawl: N pages about one seeded World, each wrapped in site boilerplate,
// with injected exact and near duplicates, spam, keyword stuffing, thin pages, personal data and pages
// in other languages. Every page carries its ground truth (flags, language, the original of a
// duplicate, the clean main text), so each stage of the data pipeline gets a precision and recall on
// every run. Page i depends only on (seed, i) and on earlier pages it duplicates, so any page can be
// regenerated alone and the crawl streams in constant memory.
namespace SharpLM.Text.Data.Synthetic;

/// <summary>Ground-truth properties of a crawled page. <see cref="None"/> and <see cref="Pii"/> pages are the ones to keep.</summary>
[Flags]
public enum PageLabels
{
    /// <summary>Good English content.</summary>
    None = 0,
    /// <summary>Same main text as an earlier page (<see cref="CrawlPage.DuplicateOf"/>).</summary>
    ExactDuplicate = 1,
    /// <summary>An earlier page's main text with small edits.</summary>
    NearDuplicate = 2,
    /// <summary>Advertising spam.</summary>
    Spam = 4,
    /// <summary>Repeated search-engine keywords.</summary>
    KeywordStuffed = 8,
    /// <summary>Thin page (not found, tag list, pagination).</summary>
    LowQuality = 16,
    /// <summary>Main text not in English.</summary>
    NonEnglish = 32,
    /// <summary>Contains email addresses or phone numbers (<see cref="CrawlPage.Pii"/>), to be redacted, not removed.</summary>
    Pii = 64,
}

/// <summary>One page of the crawl with its labels.</summary>
/// <param name="Id">Stable id, <c>page-000042</c>.</param>
/// <param name="Url">Where the page was "crawled".</param>
/// <param name="Html">The full HTML document.</param>
/// <param name="Language">ISO 639-1 code of the main text.</param>
/// <param name="Labels">Ground-truth flags.</param>
/// <param name="DuplicateOf">Id of the original, for exact and near duplicates.</param>
/// <param name="CleanText">The main text an ideal extractor returns (title, blank line, paragraphs).</param>
/// <param name="Kind">story, person, place, country, dialogue, arithmetic, foreign, spam, keyword_stuffed or low_quality.</param>
/// <param name="Pii">The personal data strings present in the main text.</param>
/// <param name="Date">Crawl time (deterministic).</param>
public sealed record CrawlPage(
    string Id, string Url, string Html, string Language, PageLabels Labels, string? DuplicateOf,
    string CleanText, string Kind, IReadOnlyList<string> Pii, DateTime Date)
{
    /// <summary>True when a pipeline should keep the page (PII is redacted, not removed).</summary>
    public bool ShouldKeep => (Labels & ~PageLabels.Pii) == PageLabels.None;
}

/// <summary>How many pages, of which seed, and the mix of page kinds (fractions of all pages).</summary>
public sealed record CrawlOptions(int Pages, long Seed)
{
    /// <summary>Exact duplicates.</summary>
    public double ExactDuplicates { get; init; } = 0.06;
    /// <summary>Near duplicates.</summary>
    public double NearDuplicates { get; init; } = 0.06;
    /// <summary>Spam.</summary>
    public double Spam { get; init; } = 0.05;
    /// <summary>Keyword-stuffed.</summary>
    public double KeywordStuffed { get; init; } = 0.04;
    /// <summary>Thin pages.</summary>
    public double LowQuality { get; init; } = 0.05;
    /// <summary>Other languages.</summary>
    public double NonEnglish { get; init; } = 0.10;
    /// <summary>Fraction of good English pages that carry personal data.</summary>
    public double PiiRate { get; init; } = 0.15;
}

/// <summary>Generates the labelled crawl page by page.</summary>
public sealed class CrawlGenerator
{
    private enum Role { English, Exact, Near, Spam, Keyword, LowQuality, Foreign }

    private const ulong RoleSalt = 0x201, ContentSalt = 0x202, DupSalt = 0x203;
    private readonly CrawlOptions _opt;
    private readonly EnglishWriter _english;
    private readonly ForeignWriter _foreign;
    private readonly JunkWriter _junk;
    private static readonly DateTime Epoch = new(2024, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The world every page is about.</summary>
    public World World { get; }

    /// <summary>A generator for <paramref name="options"/>; the world is <see cref="World.Create"/> of the same seed.</summary>
    public CrawlGenerator(CrawlOptions options)
    {
        if (options.Pages < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Pages, "page count must be non-negative");
        double junk = options.ExactDuplicates + options.NearDuplicates + options.Spam + options.KeywordStuffed + options.LowQuality + options.NonEnglish;
        if (junk > 1) throw new ArgumentOutOfRangeException(nameof(options), junk, "page-kind fractions add up to more than 1");
        _opt = options;
        World = World.Create(options.Seed);
        _english = new EnglishWriter(World);
        _foreign = new ForeignWriter(World);
        _junk = new JunkWriter(World);
    }

    /// <summary>All pages in order.</summary>
    public IEnumerable<CrawlPage> Pages()
    {
        for (int i = 0; i < _opt.Pages; i++) yield return Page(i);
    }

    /// <summary>The page id of index <paramref name="i"/>.</summary>
    public static string PageId(int i) => $"page-{i:D6}";

    private Role RoleOf(int i)
    {
        var rng = SynthRng.For(_opt.Seed, RoleSalt, i);
        double u = rng.NextDouble(), acc = 0;
        if (u < (acc += _opt.ExactDuplicates)) return Role.Exact;
        if (u < (acc += _opt.NearDuplicates)) return Role.Near;
        if (u < (acc += _opt.Spam)) return Role.Spam;
        if (u < (acc += _opt.KeywordStuffed)) return Role.Keyword;
        if (u < (acc += _opt.LowQuality)) return Role.LowQuality;
        if (u < (acc += _opt.NonEnglish)) return Role.Foreign;
        return Role.English;
    }

    // The good English article of page j, its personal data and its site.
    private (Article Article, List<string> Pii, Site Site, List<string> Related) English(int j)
    {
        var rng = SynthRng.For(_opt.Seed, ContentSalt, j);
        var article = _english.Write(ref rng);
        var pii = new List<string>();
        if (rng.Chance(_opt.PiiRate))
        {
            var paras = article.Paragraphs.ToList();
            var who = rng.Pick(World.People);
            string sentence = JunkWriter.ContactSentence(who, ref rng, pii);
            int at = rng.Range(1, paras.Count);
            // Never between a quiz question and its answer line.
            if (paras[at - 1].StartsWith("Question: ", StringComparison.Ordinal)) at++;
            paras.Insert(at, sentence);
            article = article with { Paragraphs = paras };
        }
        var site = article.Kind switch
        {
            "person" or "place" or "country" => SiteTemplates.Sites[rng.Chance(0.8) ? 1 : 0],
            "arithmetic" => SiteTemplates.Sites[2],
            "dialogue" => SiteTemplates.Sites[rng.Chance(0.7) ? 4 : 3],
            _ => SiteTemplates.Sites[rng.Chance(0.6) ? 3 : 0],
        };
        return (article, pii, site, Related(ref rng));
    }

    private List<string> Related(ref SynthRng rng)
    {
        var list = new List<string>();
        int n = rng.Range(3, 6);
        for (int k = 0; k < n; k++)
            list.Add(rng.Next(3) switch
            {
                0 => rng.Pick(World.People).FullName,
                1 => rng.Pick(World.Towns).Name,
                _ => rng.Pick(World.Countries).Name,
            });
        return list;
    }

    private static string Slug(string title)
    {
        var chars = title.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        return string.Join("-", new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
    }

    private static string UrlFor(Site site, Article a, int i) => $"https://{site.Domain}/{a.Kind.Replace('_', '-')}/{Slug(a.Title)}-{i}.html";

    // An earlier page whose role is good English, to duplicate; -1 if none was found.
    private int SourceFor(int i)
    {
        if (i == 0) return -1;
        var rng = SynthRng.For(_opt.Seed, DupSalt, i);
        for (int attempt = 0; attempt < 16; attempt++)
        {
            int j = rng.Next(i);
            if (RoleOf(j) == Role.English) return j;
        }
        return -1;
    }

    /// <summary>Page <paramref name="i"/> (deterministic for the seed).</summary>
    public CrawlPage Page(int i)
    {
        var role = RoleOf(i);
        string id = PageId(i);
        var date = Epoch.AddSeconds(37.0 * i);
        int source = role is Role.Exact or Role.Near ? SourceFor(i) : -1;
        if (role is Role.Exact or Role.Near && source < 0) role = Role.English;
        var rng = SynthRng.For(_opt.Seed, ContentSalt ^ 0xFF, i);

        switch (role)
        {
            case Role.English:
                {
                    var (a, pii, site, related) = English(i);
                    var labels = pii.Count > 0 ? PageLabels.Pii : PageLabels.None;
                    return new CrawlPage(id, UrlFor(site, a, i), SiteTemplates.Render(a, site, "en", related), "en", labels, null, a.Text, a.Kind, pii, date);
                }
            case Role.Exact:
                {
                    var (a, pii, site, related) = English(source);
                    var labels = PageLabels.ExactDuplicate | (pii.Count > 0 ? PageLabels.Pii : PageLabels.None);
                    // Half are byte-identical mirrors, half the same text republished on another site.
                    var other = rng.Chance(0.5) ? site : SiteTemplates.Sites[(Array.IndexOf(SiteTemplates.Sites, site) + 1 + rng.Next(SiteTemplates.Sites.Length - 1)) % SiteTemplates.Sites.Length];
                    string url = other == site ? $"https://mirror{rng.Range(1, 9)}.{site.Domain}/{Slug(a.Title)}-{i}.html" : UrlFor(other, a, i);
                    return new CrawlPage(id, url, SiteTemplates.Render(a, other, "en", related), "en", labels, PageId(source), a.Text, a.Kind, pii, date);
                }
            case Role.Near:
                {
                    var (a, pii, site, _) = English(source);
                    var edited = NearCopy(a, ref rng);
                    pii = pii.Where(v => edited.Text.Contains(v, StringComparison.Ordinal)).ToList(); // the edit may drop the contact line
                    var other = SiteTemplates.Sites[rng.Next(SiteTemplates.Sites.Length)];
                    var labels = PageLabels.NearDuplicate | (pii.Count > 0 ? PageLabels.Pii : PageLabels.None);
                    return new CrawlPage(id, UrlFor(other, edited, i), SiteTemplates.Render(edited, other, "en", Related(ref rng)), "en", labels, PageId(source), edited.Text, a.Kind, pii, date);
                }
            case Role.Foreign:
                {
                    string lang = rng.Pick(ForeignWriter.Languages);
                    var a = _foreign.Write(lang, ref rng);
                    var site = SiteTemplates.Sites[rng.Next(SiteTemplates.Sites.Length)];
                    return new CrawlPage(id, UrlFor(site, a, i).Replace("https://", $"https://{lang}."), SiteTemplates.Render(a, site, lang, Related(ref rng)),
                        lang, PageLabels.NonEnglish, null, a.Text, a.Kind, [], date);
                }
            default:
                {
                    var (a, label) = role switch
                    {
                        Role.Spam => (_junk.Spam(ref rng), PageLabels.Spam),
                        Role.Keyword => (_junk.KeywordStuffed(ref rng), PageLabels.KeywordStuffed),
                        _ => (_junk.LowQuality(ref rng), PageLabels.LowQuality),
                    };
                    var site = role == Role.LowQuality ? SiteTemplates.Sites[rng.Next(SiteTemplates.Sites.Length)] : SiteTemplates.Sites[5];
                    return new CrawlPage(id, UrlFor(site, a, i), SiteTemplates.Render(a, site, "en", Related(ref rng)), "en", label, null, a.Text, a.Kind, [], date);
                }
        }
    }

    // Small edits that keep most word shingles: a byline, a closing line, maybe one paragraph dropped.
    private static Article NearCopy(Article a, ref SynthRng rng)
    {
        var paras = a.Paragraphs.ToList();
        if (paras.Count >= 7 && rng.Chance(0.5)) paras.RemoveAt(rng.Range(1, paras.Count - 1));
        string[] months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
        paras.Insert(0, $"Posted on {rng.Range(1, 28)} {rng.Pick(months)} 2024 by {(rng.Chance(0.5) ? "admin" : "the editors")}.");
        if (rng.Chance(0.4)) paras.Add(rng.Chance(0.5) ? "Thanks for reading. Share this page with your friends." : "If you liked this, read more on our home page.");
        return a with { Paragraphs = paras };
    }
}
