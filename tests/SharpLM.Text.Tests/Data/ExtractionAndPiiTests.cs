// HTML extraction on a hand-written page (what must be kept and what must go), and PII redaction cases
// including the addresses that are not PII (private, loopback, link-local) and numbers that are not phones.
using SharpLM.Text.Data.Extraction;
using SharpLM.Text.Data.Pii;

namespace SharpLM.Text.Tests.Data;

public class ExtractionTests
{
    private const string Page = """
        <!doctype html><html><head><title>Tea &amp; Co</title><style>p{color:red}</style>
        <script>var tracking = "secret";</script></head>
        <body>
          <header><div class="logo">TeaSite</div></header>
          <nav><ul><li><a href="/">Home</a></li><li><a href="/a">About</a></li></ul></nav>
          <div id="cookie-banner">We use cookies to improve your experience. <button>Accept</button></div>
          <div class="content">
            <h1>Brewing green tea</h1>
            <p>Green tea should be brewed at about <b>80 degrees</b>, not boiling.</p>
            <ul><li>Warm the pot.</li><li>Steep for two minutes.</li></ul>
            <pre><code>temp = 80
        time = 120</code></pre>
            <table><tr><th>Tea</th><th>Minutes</th></tr><tr><td>Sencha</td><td>2</td></tr></table>
            <div class="related-posts"><a href="/1">Black tea guide</a> <a href="/2">Oolong guide</a> <a href="/3">Herbal guide</a></div>
          </div>
          <aside>Buy our mugs!</aside>
          <footer>© 2024 TeaSite · <a href="/privacy">Privacy</a></footer>
        </body></html>
        """;

    [Fact]
    public void KeepsContentBlocks_DropsBoilerplate()
    {
        var text = new HtmlExtractor().Extract(Page, out var title);
        Assert.Equal("Tea & Co", title);
        Assert.Equal(
            "Brewing green tea\nGreen tea should be brewed at about 80 degrees, not boiling.\nWarm the pot.\nSteep for two minutes.\n"
            + "temp = 80\ntime = 120\nTea | Minutes\nSencha | 2", text);
    }

    [Fact]
    public void HeaderInsideArticleIsContent_LinkListsAreNot()
    {
        var html = "<body><article><header><h1>Title</h1></header><p>Body text here.</p>"
            + "<p><a href='1'>one</a> <a href='2'>two</a> <a href='3'>three</a></p>"
            + "<p>Read <a href='x'>this</a> and <a href='y'>that</a> and <a href='z'>more</a> in the long paragraph that explains.</p></article></body>";
        Assert.Equal("Title\nBody text here.\nRead this and that and more in the long paragraph that explains.", new HtmlExtractor().Extract(html));
    }

    [Fact]
    public void BrokenMarkup_AndEntities()
    {
        Assert.Equal("a < b & c\nnext", new HtmlExtractor().Extract("<p>a &lt; b &amp; c<p>next"));
        Assert.Equal("", new HtmlExtractor().Extract("<script>only()</script>"));
    }
}

public class PiiTests
{
    private static string R(string s) => new PiiRedactor().Redact(s, out _);

    [Theory]
    [InlineData("mail john.doe+tag@example.co.uk now", "mail <EMAIL> now")]
    [InlineData("Contact: a_b@mail-server.org.", "Contact: <EMAIL>.")]
    [InlineData("server 8.8.8.8 and 203.0.113.7:80", "server <IP_ADDRESS> and <IP_ADDRESS>:80")]
    [InlineData("private 192.168.1.1, 10.0.0.5, 127.0.0.1, 172.16.4.4, 169.254.0.1", "private 192.168.1.1, 10.0.0.5, 127.0.0.1, 172.16.4.4, 169.254.0.1")]
    [InlineData("v6 2001:4860:4860::8888 and ::1 and fe80::1", "v6 <IP_ADDRESS> and ::1 and fe80::1")]
    [InlineData("version 1.2.3.4.5 stays", "version 1.2.3.4.5 stays")]
    [InlineData("call +1 415 555 0132 or (415) 555-0132 or 415-555-0132.", "call <PHONE_NUMBER> or <PHONE_NUMBER> or <PHONE_NUMBER>.")]
    [InlineData("ring +44 20 7946 0958 or +49 (30) 1234567", "ring <PHONE_NUMBER> or <PHONE_NUMBER>")]
    [InlineData("Tel. 030 12345678", "Tel. <PHONE_NUMBER>")]
    [InlineData("on 2024-01-15 at 12:30:45 we sold 1,234,567 units; ISBN 978-3-16", "on 2024-01-15 at 12:30:45 we sold 1,234,567 units; ISBN 978-3-16")]
    public void Redacts(string input, string expected) => Assert.Equal(expected, R(input));

    [Fact]
    public void CountsAndMetadata()
    {
        var d = new SharpLM.Text.Data.Document { Id = "1", Text = "a@b.com and c@d.org at 1.1.1.1" };
        Assert.True(new PiiRedactor().Apply(d).Keep);
        Assert.Equal("<EMAIL> and <EMAIL> at <IP_ADDRESS>", d.Text);
        Assert.Equal(3, d.Metadata["pii_redacted"]);
    }
}
