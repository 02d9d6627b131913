// Each quality rule at and around its published threshold, on texts whose statistics are worked out by hand
// in the comments (word counts, characters, ratios).
using SharpLM.Text.Data.Quality;

namespace SharpLM.Text.Tests.Data;

public class GopherQualityTests
{
    private static string Words(params string[] parts) => string.Join(' ', parts);
    private static string[] Rep(string w, int n) => Enumerable.Repeat(w, n).ToArray();
    private static readonly GopherQualityFilter F = new();

    [Fact]
    public void WordCount_FiftyPassesFortyNineFails()
    {
        // "the and" + 48 × "apple" = 50 words, 2 stop words, mean length (3+3+240)/50 = 4.92.
        Assert.Null(F.Check(Words(["the", "and", .. Rep("apple", 48)])));
        Assert.Equal("word_count", F.Check(Words(["the", "and", .. Rep("apple", 47)])));
        Assert.Equal("word_count", new GopherQualityFilter(new() { MaxWords = 49 }).Check(Words(["the", "and", .. Rep("apple", 48)])));
    }

    [Fact]
    public void MeanWordLength_ThreeIsTheLowerBound()
    {
        // 50 words of 3 letters: mean exactly 3.0 (kept); one 2-letter word: 149/50 = 2.98 (dropped).
        Assert.Null(F.Check(Words(["the", "and", .. Rep("cat", 48)])));
        Assert.Equal("mean_word_length", F.Check(Words(["the", "and", .. Rep("cat", 47), "at"])));
        // Upper bound: "the and" + 48 words of 11 letters: (6 + 528)/50 = 10.68 > 10.
        Assert.Equal("mean_word_length", F.Check(Words(["the", "and", .. Rep("abcdefghijk", 48)])));
    }

    [Fact]
    public void HashAndEllipsisPerWord_TenPercent()
    {
        var baseWords = new List<string> { "the", "and" };
        baseWords.AddRange(Rep("apple", 48));
        // 5 '#' over 50 words = 0.1: kept; 6 = 0.12: dropped. '#' is trimmed from words, so counts stay 50.
        var five = baseWords.Select((w, i) => i < 5 ? "#" + w : w);
        var six = baseWords.Select((w, i) => i < 6 ? "#" + w : w);
        Assert.Null(F.Check(string.Join(' ', five)));
        Assert.Equal("hash_ratio", F.Check(string.Join(' ', six)));
        var ell = baseWords.Select((w, i) => i < 6 ? w + "…" : w);
        Assert.Equal("ellipsis_ratio", F.Check(string.Join(' ', ell)));
    }

    [Fact]
    public void BulletLines_NinetyPercent()
    {
        // 10 lines of 5 words (50 words); bullets on 9 lines = 0.9 (kept), on 10 = 1.0 (dropped).
        string Line(int i, bool bullet) => (bullet ? "- " : "") + "the and apple pear plum";
        string Text(int bullets) => string.Join('\n', Enumerable.Range(0, 10).Select(i => Line(i, i < bullets)));
        Assert.Null(F.Check(Text(9)));
        Assert.Equal("bullet_lines", F.Check(Text(10)));
    }

    [Fact]
    public void EllipsisLines_ThirtyPercent()
    {
        // 10 lines; 3 ending in "..." = 0.3 (kept), 4 = 0.4 (dropped). Ellipses per word 4/50 = 0.08 stay under 0.1.
        string Text(int n) => string.Join('\n', Enumerable.Range(0, 10).Select(i => "the and apple pear plum" + (i < n ? "..." : "")));
        Assert.Null(F.Check(Text(3)));
        Assert.Equal("ellipsis_lines", F.Check(Text(4)));
    }

    [Fact]
    public void AlphaWords_EightyPercent()
    {
        // 50 words of which 10 are "123": 40/50 = 0.8 have a letter (kept); 11 numbers: 39/50 (dropped).
        Assert.Null(F.Check(Words(["the", "and", .. Rep("apple", 38), .. Rep("123", 10)])));
        Assert.Equal("alpha_words", F.Check(Words(["the", "and", .. Rep("apple", 37), .. Rep("123", 11)])));
    }

    [Fact]
    public void StopWords_CountedOrDistinct()
    {
        var twoThe = Words(["The", "the", .. Rep("apple", 48)]);
        Assert.Null(F.Check(twoThe)); // occurrences: 2
        Assert.Equal("stop_words", new GopherQualityFilter(new() { DistinctStopWords = true }).Check(twoThe)); // distinct: 1
        Assert.Equal("stop_words", F.Check(Words(["the", .. Rep("apple", 49)])));
    }
}

public class GopherRepetitionTests
{
    [Fact]
    public void FindDuplicates_CountsRepeatsAfterTheFirst()
    {
        Assert.Equal((2, 6L), GopherRepetitionFilter.FindDuplicates(["abc", "de", "abc", "x", "abc"]));
    }

    [Fact]
    public void TopNGram_LengthWithSpacesTimesCount()
    {
        // Bigrams of "a b a b a b c": ab ×3, ba ×2, bc: top "a b" is 3 chars × 3 = 9.
        Assert.Equal(9, GopherRepetitionFilter.TopNGramChars("a b a b a b c", 2));
        // Tie (each bigram once): the first one, "one two" = 7 chars.
        Assert.Equal(7, GopherRepetitionFilter.TopNGramChars("one two three four", 2));
    }

    [Fact]
    public void DuplicatedNGrams_GreedyWithoutOverlap()
    {
        // "one two three four five" twice: the second 5-gram repeats: 3+3+5+4+4 = 19 chars.
        Assert.Equal(19, GopherRepetitionFilter.DuplicatedNGramChars("one two three four five one two three four five", 5));
        // "a a a a a a" with n=2: idx0 new, idx1 repeat (+2, jump to 3), idx3 repeat (+2, jump to 5) → 4.
        Assert.Equal(4, GopherRepetitionFilter.DuplicatedNGramChars("a a a a a a", 2));
    }

    [Fact]
    public void DuplicateLines_FractionThreshold()
    {
        // 10 lines, 3 repeats of line 0 → 3/10 = 0.3 kept by the line-count rule; 4/10 dropped.
        // Char rule: lines are "lineNN unique words here" (25 chars), repeats 3×25 = 75 of 274 = 0.27 > 0.2,
        // so raise that threshold to isolate the count rule.
        string Text(int dups) => string.Join('\n', Enumerable.Range(0, 10).Select(i => i < 10 - dups ? $"line{i:D2} unique words here" : "line00 unique words here"));
        var f = new GopherRepetitionFilter(new() { MaxDupLineCharFraction = 1, TopNGrams = [], DupNGrams = [] });
        Assert.Null(f.Check(Text(3)));
        Assert.Equal("dup_line_frac", f.Check(Text(4)));
        Assert.Equal("dup_line_char_frac", new GopherRepetitionFilter().Check(Text(3)));
    }

    [Fact]
    public void Paragraphs_SplitOnBlankLines()
    {
        Assert.Equal(["a", "b\nc", "d"], GopherRepetitionFilter.SplitParagraphs("a\n\nb\nc\n\n\nd"));
        // Two equal paragraphs out of two: 1/2 = 0.5 > 0.3.
        Assert.Equal("dup_para_frac", new GopherRepetitionFilter().Check("same paragraph text\n\nsame paragraph text"));
    }

    [Fact]
    public void TopBigram_DropsRepetitiveText()
    {
        // "a b a b a b c": top "a b" = 9 chars of 13 = 0.69 > 0.2.
        Assert.Equal("top_2_gram", new GopherRepetitionFilter().Check("a b a b a b c"));
        // All-distinct words: the top n-gram occurs once; with 26 words its share is below 0.16. (A short
        // distinct text can still fail: "every word in" is 13 of 61 chars = 0.21 > 0.18 for 3-grams, as in datatrove.)
        Assert.Null(new GopherRepetitionFilter().Check("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu"));
        Assert.Equal("top_3_gram", new GopherRepetitionFilter().Check("every word in this sentence is different from the others here"));
    }
}

public class C4RuleTests
{
    private const string Good = "This is the first sentence. It has two sentences.";

    [Fact]
    public void KeepsPunctuatedLines_DropsOthers_CountsSentences()
    {
        var f = new C4QualityFilter();
        string text = string.Join('\n', Good, "A menu line without punctuation", "Hi.", Good, "Enable javascript to see this page.", Good, "We use cookies, see our privacy policy.");
        // Kept: 3 × Good (2 sentences each = 6 ≥ 5). Dropped: no terminal punct, 1 word, javascript, policy.
        Assert.Null(f.Check(text, out var kept));
        Assert.Equal(string.Join('\n', Good, Good, Good), kept);
        Assert.Equal("too_few_sentences", f.Check(string.Join('\n', Good, Good), out _)); // 4 < 5
    }

    [Fact]
    public void PageRules()
    {
        var f = new C4QualityFilter();
        Assert.Equal("lorem_ipsum", f.Check(Good + "\nLorem ipsum dolor sit amet.", out _));
        Assert.Equal("curly_bracket", f.Check(Good + "\nfunction f() { return 1; }.", out _));
        // A '{' on a line that is dropped anyway (no terminal punctuation) does not count.
        Assert.Null(f.Check(string.Join('\n', Good, Good, Good, "var x = {"), out _));
    }

    [Fact]
    public void Citations_Ellipsis_WordLength()
    {
        var f = new C4QualityFilter(new() { MinSentences = 1 });
        Assert.Null(f.Check("Paris is the capital of France.[1] It is big.[citation needed]", out var kept));
        Assert.Equal("Paris is the capital of France. It is big.", kept);
        Assert.Equal("too_few_sentences", f.Check("And then it went on and on...", out _));
        Assert.Equal(2, C4QualityFilter.CountSentences("Wait... what? Yes"));
    }
}

public class FineWebRuleTests
{
    private static string Long(int i, bool punct) => $"this is long line number {i:D3} of the test text" + (punct ? "." : "");

    [Fact]
    public void LinePunctuation_AboveTwelvePercent()
    {
        // 25 distinct long lines; 3 end in '.' = 0.12 (dropped: ≤ 0.12), 4 = 0.16 (kept).
        string Text(int p) => string.Join('\n', Enumerable.Range(0, 25).Select(i => Long(i, i < p)));
        var f = new FineWebQualityFilter();
        Assert.Equal("line_punct_ratio", f.Check(Text(3)));
        Assert.Null(f.Check(Text(4)));
        Assert.Null(new FineWebQualityFilter(new() { LinePunctExcludeZero = true }).Check(Text(0)));
    }

    [Fact]
    public void ShortLines_BelowSixtySevenPercent()
    {
        // 100 lines ending in '.', k short ones ("short 00 x." = 11 chars ≤ 30): 67 → 0.67 dropped, 66 kept.
        string Text(int k) => string.Join('\n', Enumerable.Range(0, 100).Select(i => i < k ? $"short {i:D2} x." : Long(i, true)));
        var f = new FineWebQualityFilter(new() { MaxNewlinesPerWord = 1 });
        Assert.Equal("short_line_ratio", f.Check(Text(67)));
        Assert.Null(f.Check(Text(66)));
    }

    [Fact]
    public void DuplicatedLineCharacters_OnePercent()
    {
        // 3 lines of 46 chars + 1 newline each... one repeated line of 46 chars over 4×46 = 184 non-newline chars = 0.25.
        var l = Long(1, true);
        Assert.Equal(46, l.Length);
        var f = new FineWebQualityFilter();
        Assert.Equal("char_dup_ratio", f.Check(string.Join('\n', Long(0, true), l, Long(2, true), l)));
        Assert.Null(f.Check(string.Join('\n', Long(0, true), l, Long(2, true), Long(3, true))));
    }

    [Fact]
    public void NewlinesPerWord_AtMostPointThree()
    {
        // 10 distinct lines of 3 words: 9 newlines / 30 words = 0.3 (kept); 2-word lines: 9/20 = 0.45 (dropped).
        string Three(int i) => $"Extraordinarily comprehensive documentation{(char)('a' + i)}.";
        string Two(int i) => $"Extraordinarily comprehensivedocumentation{(char)('a' + i)}.";
        var f = new FineWebQualityFilter();
        Assert.Null(f.Check(string.Join('\n', Enumerable.Range(0, 10).Select(Three))));
        Assert.Equal("list_ratio", f.Check(string.Join('\n', Enumerable.Range(0, 10).Select(Two))));
    }
}
