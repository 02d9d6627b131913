// Names → step factories, for building pipelines from a config file. The built-in steps are added here;
// other parts of SharpLM.Text add theirs by implementing the partial method AddDedupSteps in their own file
// (a compile-time hook: no reflection, no global registration), and callers may add more with Add.
using SharpLM.Text.Data.Content;
using SharpLM.Text.Data.Dedup;
using SharpLM.Text.Data.Extraction;
using SharpLM.Text.Data.LangId;
using SharpLM.Text.Data.Pii;
using SharpLM.Text.Data.Quality;

namespace SharpLM.Text.Data.Pipeline;

/// <summary>Makes a pipeline item from its configured options.</summary>
public delegate PipelineItem StepFactory(StepArgs args);

/// <summary>The steps a pipeline config may name.</summary>
public sealed partial class StepCatalog
{
    private readonly Dictionary<string, (StepFactory Make, string Help)> _steps = new(StringComparer.Ordinal);

    /// <summary>Adds (or replaces) a step.</summary>
    public void Add(string name, string help, StepFactory make) => _steps[name] = (make, help);

    /// <summary>Step names with their one-line help, sorted.</summary>
    public IEnumerable<(string Name, string Help)> List() => _steps.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => (k.Key, k.Value.Help));

    /// <summary>Builds a configured step.</summary>
    public PipelineItem Create(string name, IReadOnlyDictionary<string, object?>? options)
    {
        if (!_steps.TryGetValue(name, out var s))
            throw new InvalidDataException($"unknown pipeline step '{name}' (known: {string.Join(", ", _steps.Keys.Order(StringComparer.Ordinal))})");
        var args = new StepArgs(name, options);
        var item = s.Make(args);
        args.EnsureAllUsed();
        return item;
    }

    /// <summary>Built-in steps plus every step contributed through the partial hooks.</summary>
    public static StepCatalog Default()
    {
        var c = new StepCatalog();
        c.AddBuiltins();
        AddDedupSteps(c);
        return c;
    }

    /// <summary>Hook for the deduplication steps (exact, URL, lines, MinHash), implemented in their own file.</summary>
    static partial void AddDedupSteps(StepCatalog catalog);

    private void AddBuiltins()
    {
        Add("extract", "HTML → main text (documents with content_type text/html, or all with all: true)", a =>
            PipelineItem.Of(new ExtractStep(new ExtractionOptions
            {
                LinkListMinLinks = a.Int("link_list_min_links", 3),
                MaxLinkDensity = a.Double("max_link_density", 0.6),
                KeepTables = a.Bool("keep_tables", true),
                KeepCode = a.Bool("keep_code", true),
            }, a.Bool("all", false))));
        Add("langid", "keep chosen languages above a confidence threshold (languages: [en], threshold: 0.65, model: file)", a =>
            PipelineItem.Of(new LanguageIdFilter(LanguageIdModel.Load(a.String("model")), new LanguageIdOptions
            {
                Languages = a.List("languages") ?? ["en"],
                Threshold = a.Double("threshold", 0.65),
            })));
        Add("gopher_quality", "Gopher quality rules (word count, word length, symbols, bullets, ellipses, alpha words, stop words)", a =>
        {
            var d = new GopherQualityOptions();
            return PipelineItem.Of(new GopherQualityFilter(new GopherQualityOptions
            {
                MinWords = a.Int("min_words", d.MinWords),
                MaxWords = a.Int("max_words", d.MaxWords),
                MinMeanWordLength = a.Double("min_mean_word_length", d.MinMeanWordLength),
                MaxMeanWordLength = a.Double("max_mean_word_length", d.MaxMeanWordLength),
                MaxSymbolWordRatio = a.Double("max_symbol_word_ratio", d.MaxSymbolWordRatio),
                MaxBulletLinesRatio = a.Double("max_bullet_lines_ratio", d.MaxBulletLinesRatio),
                MaxEllipsisLinesRatio = a.Double("max_ellipsis_lines_ratio", d.MaxEllipsisLinesRatio),
                MinAlphaWordsRatio = a.Double("min_alpha_words_ratio", d.MinAlphaWordsRatio),
                MinStopWords = a.Int("min_stop_words", d.MinStopWords),
                DistinctStopWords = a.Bool("distinct_stop_words", false),
                StopWords = a.List("stop_words") ?? d.StopWords,
            }));
        });
        Add("gopher_repetition", "Gopher repetition rules (duplicate lines/paragraphs, top and duplicated n-grams)", a =>
        {
            var d = new GopherRepetitionOptions();
            return PipelineItem.Of(new GopherRepetitionFilter(new GopherRepetitionOptions
            {
                MaxDupParagraphFraction = a.Double("max_dup_para_frac", d.MaxDupParagraphFraction),
                MaxDupParagraphCharFraction = a.Double("max_dup_para_char_frac", d.MaxDupParagraphCharFraction),
                MaxDupLineFraction = a.Double("max_dup_line_frac", d.MaxDupLineFraction),
                MaxDupLineCharFraction = a.Double("max_dup_line_char_frac", d.MaxDupLineCharFraction),
                TopNGrams = a.Pairs("top_n_grams") ?? d.TopNGrams,
                DupNGrams = a.Pairs("dup_n_grams") ?? d.DupNGrams,
            }));
        });
        Add("c4", "C4 line rules (terminal punctuation, 3+ words, javascript, policy) and page rules (lorem ipsum, '{', 5+ sentences)", a =>
        {
            var d = new C4Options();
            return PipelineItem.Of(new C4QualityFilter(new C4Options
            {
                MinWordsPerLine = a.Int("min_words_per_line", d.MinWordsPerLine),
                MaxWordLength = a.Int("max_word_length", d.MaxWordLength),
                MinSentences = a.Int("min_sentences", d.MinSentences),
                RemoveCitations = a.Bool("remove_citations", true),
                FilterNoTerminalPunct = a.Bool("filter_no_terminal_punct", true),
                FilterLoremIpsum = a.Bool("filter_lorem_ipsum", true),
                FilterJavascript = a.Bool("filter_javascript", true),
                FilterCurlyBracket = a.Bool("filter_curly_bracket", true),
                FilterPolicy = a.Bool("filter_policy", true),
                PolicySubstrings = a.List("policy_substrings") ?? d.PolicySubstrings,
            }));
        });
        Add("fineweb", "FineWeb rules (line punctuation, short lines, duplicated-line chars, newlines per word)", a =>
        {
            var d = new FineWebOptions();
            return PipelineItem.Of(new FineWebQualityFilter(new FineWebOptions
            {
                MinLinePunctRatio = a.Double("line_punct_thr", d.MinLinePunctRatio),
                LinePunctExcludeZero = a.Bool("line_punct_exclude_zero", false),
                MaxShortLineRatio = a.Double("short_line_thr", d.MaxShortLineRatio),
                ShortLineLength = a.Int("short_line_length", d.ShortLineLength),
                MaxDupLineCharRatio = a.Double("char_duplicates_ratio", d.MaxDupLineCharRatio),
                MaxNewlinesPerWord = a.Double("new_line_ratio", d.MaxNewlinesPerWord),
            }));
        });
        Add("url_blocklist", "drop documents whose URL domain or URL is listed (file: one per line)", a =>
        {
            var file = a.String("file");
            var inline = a.List("domains") ?? [];
            var entries = file is null ? inline : File.ReadLines(file).Concat(inline);
            return PipelineItem.Of(new UrlBlocklistFilter(entries));
        });
        Add("bad_words", "drop documents with listed words (file: list, default embedded English list; max_hits: 0)", a =>
        {
            var file = a.String("file");
            return PipelineItem.Of(new BadWordsFilter(file is null ? BadWordsFilter.DefaultList() : File.ReadLines(file), a.Int("max_hits", 0)));
        });
        Add("exact_dedup", "drop documents whose text was seen before (content hash; bits: 64|128, normalize_whitespace)", a =>
            PipelineItem.Of(new ExactDedup(a.Int("bits", 64), a.Bool("normalize_whitespace", false))));
        Add("url_dedup", "drop documents whose normalised URL was seen before (strip_www)", a =>
            PipelineItem.Of(new UrlDedup(a.Bool("strip_www", false))));
        Add("line_dedup", "two passes: strip lines (or paragraphs: unit: paragraph) found in min_documents+ documents", a =>
        {
            int min = a.Int("min_documents", 3);
            var unit = a.String("unit", "line") switch
            {
                "line" => BoilerplateUnit.Line,
                "paragraph" => BoilerplateUnit.Paragraph,
                var u => throw new InvalidDataException($"step 'line_dedup': unit must be 'line' or 'paragraph', got '{u}'"),
            };
            return PipelineItem.Of(new LineDedupStage(() => new LineDedup(min, unit)));
        });
        Add("minhash_dedup", "two passes: MinHash-LSH near-duplicates (bands: 14, rows: 8, shingle_words: 5, threshold: 0.7), one kept per cluster", a =>
        {
            var d = new MinHashOptions();
            var o = new MinHashOptions(a.Int("bands", d.Bands), a.Int("rows", d.Rows), a.Int("shingle_words", d.ShingleWords), a.Double("threshold", d.Threshold));
            o.Validate();
            return PipelineItem.Of(new MinHashStage(o));
        });
        Add("quality_classifier", "keep documents a train-quality model scores ≥ threshold (model: file, threshold: 0.5)", a =>
        {
            var path = a.String("model") ?? throw new InvalidDataException("step 'quality_classifier': option 'model' (a file from `sharplm data train-quality`) is required");
            using var fs = File.OpenRead(path);
            return PipelineItem.Of(new QualityClassifierFilter(HashedNgramClassifier.Load(fs, path), a.Double("threshold", 0.5)));
        });
        Add("pii", "redact e-mails, public IP addresses and phone numbers with placeholders", a =>
        {
            var d = new PiiOptions();
            return PipelineItem.Of(new PiiRedactor(new PiiOptions
            {
                Emails = a.Bool("emails", true),
                IpAddresses = a.Bool("ip_addresses", true),
                Phones = a.Bool("phones", true),
                EmailPlaceholder = a.String("email_placeholder", d.EmailPlaceholder)!,
                IpPlaceholder = a.String("ip_placeholder", d.IpPlaceholder)!,
                PhonePlaceholder = a.String("phone_placeholder", d.PhonePlaceholder)!,
            }));
        });
    }
}
