// PII redaction: e-mail addresses, public IPv4/IPv6 addresses and phone numbers are replaced by placeholders
// (Dolma's PII tagger and datatrove's PIIFormatter do the same job; they use regexes of this kind). Private,
// loopback, link-local, multicast and documentation-free reserved ranges are not PII and are left alone, as
// datatrove leaves them. Phone numbers: international "+CC …" forms with 7–15 digits, North American
// (NNN) NNN-NNNN / NNN-NNN-NNNN / NNN.NNN.NNNN, and European trunk-prefixed "0AA … NNNN" groups; bare digit
// runs and dates are not matched (precision over recall on numbers that are not phones).
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace SharpLM.Text.Data.Pii;

/// <summary>Placeholders and switches of the PII redactor.</summary>
public sealed record PiiOptions
{
    public bool Emails { get; init; } = true;
    public bool IpAddresses { get; init; } = true;
    public bool Phones { get; init; } = true;
    public string EmailPlaceholder { get; init; } = "<EMAIL>";
    public string IpPlaceholder { get; init; } = "<IP_ADDRESS>";
    public string PhonePlaceholder { get; init; } = "<PHONE_NUMBER>";
}

/// <summary>Replaces PII in text; a step that never drops documents.</summary>
public sealed partial class PiiRedactor(PiiOptions? options = null) : IParallelSafeFilter
{
    private readonly PiiOptions _o = options ?? new PiiOptions();

    /// <inheritdoc/>
    public string Name => "pii";

    [GeneratedRegex(@"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b", RegexOptions.CultureInvariant)]
    private static partial Regex EmailRx();

    [GeneratedRegex(@"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv4Rx();

    [GeneratedRegex(@"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv6Rx();

    [GeneratedRegex(@"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{1,4}){1,5}|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4}|\d{3} \d{3} \d{4}|0\d{1,4}[ /-]\d{2,4}(?:[ -]?\d{2,4}){1,3})(?![\w])", RegexOptions.CultureInvariant)]
    private static partial Regex PhoneRx();

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        var text = Redact(doc.Text, out int n);
        if (n > 0)
        {
            doc.Text = text;
            lock (doc.Metadata) doc.Metadata["pii_redacted"] = n;
        }
        return FilterVerdict.Kept;
    }

    /// <summary>The text with PII replaced; <paramref name="count"/> replacements.</summary>
    public string Redact(string text, out int count)
    {
        int n = 0;
        if (_o.Emails && text.Contains('@'))
            text = EmailRx().Replace(text, _ => { n++; return _o.EmailPlaceholder; });
        bool digits = text.AsSpan().IndexOfAnyInRange('0', '9') >= 0;
        if (_o.IpAddresses)
        {
            if (digits && text.Contains('.'))
                text = Ipv4Rx().Replace(text, m => IsPublic(m.Value) ? Count(ref n, _o.IpPlaceholder) : m.Value);
            if (text.Contains(':'))
                text = Ipv6Rx().Replace(text, m => IsPublic(m.Value) ? Count(ref n, _o.IpPlaceholder) : m.Value);
        }
        if (_o.Phones && digits)
            text = PhoneRx().Replace(text, m => IsPhone(m.Value) ? Count(ref n, _o.PhonePlaceholder) : m.Value);
        count = n;
        return text;
    }

    private static string Count(ref int n, string s) { n++; return s; }

    private static bool IsPhone(string s)
    {
        int digits = 0;
        foreach (char c in s) if (char.IsAsciiDigit(c)) digits++;
        return digits is >= 7 and <= 15;
    }

    /// <summary>True for a globally routable unicast address (not private, loopback, link-local, multicast, reserved).</summary>
    public static bool IsPublic(string s)
    {
        if (!IPAddress.TryParse(s, out var ip)) return false;
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = ip.GetAddressBytes();
            return !(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0));
        }
        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (ip.Equals(IPAddress.IPv6Any) || ip.Equals(IPAddress.IPv6Loopback) || ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6Multicast) return false;
            var b = ip.GetAddressBytes();
            if ((b[0] & 0xFE) == 0xFC) return false; // unique local fc00::/7
            if (ip.IsIPv4MappedToIPv6) return IsPublic(ip.MapToIPv4().ToString());
            return true;
        }
        return false;
    }
}
