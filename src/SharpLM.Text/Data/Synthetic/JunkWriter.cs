// The pages a web crawl is full of and a pretraining corpus should not be: advertising spam,
// keyword-stuffed SEO pages and thin pages (tag indexes, "page not found", link lists); plus the
// personal data (emails, phone numbers) that good pages sometimes carry. Shapes follow the kinds of
// page the Gopher/C4/FineWeb quality rules were written against (repetition, symbol ratios, short lines).
namespace SharpLM.Text.Data.Synthetic;

/// <summary>Writes spam, keyword-stuffed and low-quality articles, and makes up personal data.</summary>
public sealed class JunkWriter(World world)
{
    private static readonly string[] Products =
        ["watches", "sunglasses", "diet pills", "phone cases", "sneakers", "crypto coins", "casino chips", "handbags", "vitamins", "loans"];
    private static readonly string[] SpamLines =
        ["BUY CHEAP {0} NOW!!!", "Best price guaranteed!!! Click here >>> {1}", "LIMITED OFFER - only TODAY - 90% OFF {0}",
         "Free shipping worldwide!!! Order {0} now $$$", "You have WON a free gift card!!! Claim at {1}",
         "Make $5000 a week from home, no experience needed!!!", "100% legit {0} - no prescription - fast delivery",
         "CLICK HERE CLICK HERE CLICK HERE", "Hot deals on {0} >>> {1} <<<", "Act now!!! Offer expires in 10 minutes!!!"];
    private static readonly string[] SeoWords = ["cheap", "best", "hotels", "flights", "deals", "book now", "discount", "top 10", "travel", "cheapest"];
    private static readonly string[] MailDomains = ["example.org", "mail.example.com", "post.example.net", "inbox.example"];

    /// <summary>An advertising spam page.</summary>
    public Article Spam(ref SynthRng rng)
    {
        string product = rng.Pick(Products);
        string url = $"http://www.{product.Replace(" ", "-")}-{rng.Range(10, 99)}.example/deal";
        var paras = new List<string>();
        int n = rng.Range(6, 12);
        for (int i = 0; i < n; i++) paras.Add(string.Format(System.Globalization.CultureInfo.InvariantCulture, rng.Pick(SpamLines), product.ToUpperInvariant(), url));
        return new Article("spam", $"CHEAP {product.ToUpperInvariant()} !!! BEST DEALS", paras);
    }

    /// <summary>An SEO page that repeats a handful of keywords around a town name.</summary>
    public Article KeywordStuffed(ref SynthRng rng)
    {
        var town = rng.Pick(world.Towns).Name;
        var paras = new List<string>();
        int n = rng.Range(3, 6);
        for (int i = 0; i < n; i++)
        {
            var words = new List<string>();
            int m = rng.Range(30, 60);
            for (int j = 0; j < m; j++) words.Add(rng.Chance(0.3) ? town : rng.Pick(SeoWords));
            paras.Add(string.Join(" ", words));
        }
        return new Article("keyword_stuffed", $"cheap hotels {town} best hotels {town} deals", paras);
    }

    /// <summary>A thin page: a tag index, an empty archive or a list of links.</summary>
    public Article LowQuality(ref SynthRng rng)
    {
        var paras = new List<string>();
        switch (rng.Next(3))
        {
            case 0:
                paras.Add("Page not found.");
                paras.Add("Sorry.");
                return new Article("low_quality", "404", paras);
            case 1:
                for (int i = 0; i < rng.Range(8, 15); i++) paras.Add(rng.Pick(world.People).First);
                return new Article("low_quality", "Tags", paras);
            default:
                paras.Add($"Page {rng.Range(2, 40)} of {rng.Range(41, 90)}");
                paras.Add("Next");
                paras.Add("Previous");
                paras.Add("Archive");
                return new Article("low_quality", "Archive", paras);
        }
    }

    /// <summary>A made-up email address for a person (reserved example domains only).</summary>
    public static string Email(Person p, ref SynthRng rng) =>
        $"{p.First.ToLowerInvariant()}{(rng.Chance(0.5) ? "." : "_")}{p.Family.ToLowerInvariant()}{(rng.Chance(0.3) ? rng.Range(1, 99).ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}@{rng.Pick(MailDomains)}";

    /// <summary>A made-up phone number in the 555 fictional range, in one of several common layouts.</summary>
    public static string Phone(ref SynthRng rng)
    {
        int a = rng.Range(100, 999), b = rng.Range(1000, 9999);
        return rng.Next(4) switch
        {
            0 => $"(555) {a}-{b}",
            1 => $"555-{a}-{b}",
            2 => $"+1 555 {a} {b}",
            _ => $"555.{a}.{b}",
        };
    }

    /// <summary>A sentence carrying contact details; the values go to <paramref name="pii"/>.</summary>
    public static string ContactSentence(Person p, ref SynthRng rng, List<string> pii)
    {
        string email = Email(p, ref rng), phone = Phone(ref rng);
        switch (rng.Next(3))
        {
            case 0:
                pii.Add(email);
                return $"You can write to {p.First} at {email}.";
            case 1:
                pii.Add(phone);
                return $"To reach {p.First}, call {phone} in the afternoon.";
            default:
                pii.Add(email);
                pii.Add(phone);
                return $"Contact: {email} or {phone}.";
        }
    }
}
