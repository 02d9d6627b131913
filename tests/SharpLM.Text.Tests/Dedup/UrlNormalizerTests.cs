// URL normalisation table (RFC 3986 §6.2.2 cases plus the crawl rules) and URL dedup.
using SharpLM.Text.Data;
using SharpLM.Text.Data.Dedup;

namespace SharpLM.Text.Tests.Dedup;

public class UrlNormalizerTests
{
    [Theory]
    [InlineData("HTTP://Example.COM/Path", "http://example.com/Path")]                 // scheme + host case, path case kept
    [InlineData("http://example.com:80/a", "http://example.com/a")]                    // default port
    [InlineData("https://example.com:443/a", "https://example.com/a")]
    [InlineData("https://example.com:8443/a", "https://example.com:8443/a")]            // other port kept
    [InlineData("http://example.com:443/a", "http://example.com:443/a")]               // 443 is not http's default
    [InlineData("http://example.com", "http://example.com/")]                          // empty path
    [InlineData("http://example.com/a/b/", "http://example.com/a/b")]                  // trailing slash
    [InlineData("http://example.com/", "http://example.com/")]                         // root stays
    [InlineData("http://example.com/a#section-2", "http://example.com/a")]             // fragment
    [InlineData("http://example.com/a?utm_source=x&utm_medium=y", "http://example.com/a")]  // tracking only
    [InlineData("http://example.com/a?b=2&fbclid=Z&a=1&gclid=Q", "http://example.com/a?a=1&b=2")] // tracking dropped, sorted
    [InlineData("http://example.com/a?", "http://example.com/a")]                      // empty query
    [InlineData("http://example.com/a?&&x=1&", "http://example.com/a?x=1")]             // empty params
    [InlineData("http://example.com/%7euser/%2fa%2F", "http://example.com/~user/%2Fa%2F")] // unreserved decoded, hex upper
    [InlineData("http://example.com/a/./b/../c", "http://example.com/a/c")]            // dot segments (RFC 3986 §5.2.4)
    [InlineData("http://example.com/../a", "http://example.com/a")]
    [InlineData("http://Example.com./x", "http://example.com/x")]                      // trailing dot of the host
    [InlineData("http://User:Pw@Example.com:80/x", "http://User:Pw@example.com/x")]    // userinfo case kept
    [InlineData("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x")]                // IPv6 literal
    [InlineData("  https://example.com/a  ", "https://example.com/a")]                 // surrounding spaces
    [InlineData("example.com/a#b", "example.com/a")]                                   // no scheme: only trimmed
    public void Normalises(string input, string expected) => Assert.Equal(expected, UrlNormalizer.Normalize(input));

    [Fact]
    public void StripsWwwOnlyWhenAsked()
    {
        Assert.Equal("https://www.example.com/", UrlNormalizer.Normalize("https://www.example.com"));
        Assert.Equal("https://example.com/", UrlNormalizer.Normalize("https://WWW.example.com", stripWww: true));
    }

    [Fact]
    public void UrlDedupKeepsFirstOfEquivalentUrls()
    {
        var f = new UrlDedup();
        var docs = new[]
        {
            new Document { Id = "a", Text = "1", Url = "https://example.com/page?utm_source=news" },
            new Document { Id = "b", Text = "2", Url = "HTTPS://EXAMPLE.com:443/page/#top" },
            new Document { Id = "c", Text = "3", Url = "https://example.com/other" },
            new Document { Id = "d", Text = "4" },
            new Document { Id = "e", Text = "5" },
        };
        var kept = docs.Where(d => f.Apply(d).Keep).Select(d => d.Id).ToArray();
        Assert.Equal(["a", "c", "d", "e"], kept);
        Assert.Equal("a", docs[1].Metadata["duplicate_of"]);
    }
}
