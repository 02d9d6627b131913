// `sharplm data …` verbs for reading, extraction, language ID, quality rules, PII and the pipeline runner:
// run, extract, langid, filter, pii, steps, report, train-langid, eval-crawl. Deduplication verbs live in
// DataDedupCommands.cs; their pipeline steps join the catalog through StepCatalog's partial hook.
using System.CommandLine;
using System.Globalization;
using SharpLM.Models.Inference;
using SharpLM.Text.Data;
using SharpLM.Text.Data.LangId;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Readers;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

internal static class DataFilterCommands
{
    /// <summary>The `sharplm data` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create() =>
    [
        Run(), Single("extract", "Extract the main text of HTML pages (HTML files, WARC, JSONL with content_type text/html).", "extract"),
        LangId(), Filter(), Single("pii", "Redact e-mails, public IP addresses and phone numbers.", "pii"),
        Steps(), Report(), TrainLangId(), TrainQuality(), Mix(), DataEvalCommand.Create(), Perplexity(),
    ];

    /// <summary>Every step a pipeline may name: SharpLM.Text's, plus the perplexity step (it loads a SharpLM model).</summary>
    internal static StepCatalog Catalog()
    {
        var c = StepCatalog.Default();
        ModelPerplexityScorer.AddStep(c);
        return c;
    }

    private static Option<string[]> InputOption() => new("--input", "-i")
    {
        Description = "Input files or folders: .jsonl/.json(.gz), .txt, .html/.htm, .warc(.gz). Repeatable.",
        Required = true,
        AllowMultipleArgumentsPerToken = true,
    };

    private static Option<string> OutOption() => new("--out", "-o") { Description = "Output folder (documents.jsonl.gz, removed/, stats.json).", Required = true };

    private sealed class RunOptions
    {
        public required Option<string[]> Input;
        public required Option<string> Out;
        public required Option<int> Threads;
        public required Option<string> OnError;
        public required Option<int?> Rank;
        public required Option<int?> WorldSize;
        public required Option<bool> NoRemoved;
        public required Option<bool> Plain;
        public required Option<long> SplitBytes;
        public required Option<string?> Tokenizer;
        public required Option<int> MaxLineMb;

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { Input, Out, Threads, OnError, Rank, WorldSize, NoRemoved, Plain, SplitBytes }) c.Options.Add(o);
            c.Options.Add(Tokenizer);
            c.Options.Add(MaxLineMb);
        }
    }

    private static RunOptions CommonOptions() => new()
    {
        Input = InputOption(),
        Out = OutOption(),
        Threads = new("--threads") { Description = "Worker threads for parallel-safe steps (0 = one per core).", DefaultValueFactory = _ => 0 },
        OnError = new("--on-error") { Description = "Bad input line/record/file: 'fail' (error naming file and line) or 'skip' (count it and go on).", DefaultValueFactory = _ => "fail" },
        Rank = new("--rank") { Description = "This task's rank: it reads every world-size-th input file. Default: OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_ARRAY_TASK_ID or SLURM_PROCID, else 0." },
        WorldSize = new("--world-size") { Description = "Number of tasks. Default: OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_ARRAY_TASK_COUNT or SLURM_NTASKS, else 1." },
        NoRemoved = new("--no-removed") { Description = "Count removed documents without writing removed/<step>.jsonl.gz." },
        Plain = new("--plain") { Description = "Write documents.jsonl instead of documents.jsonl.gz." },
        Tokenizer = new("--tokenizer") { Description = "A tokenizer (tokenizer.json, its folder, or a .tiktoken file): stats.json then also counts tokens into and out of every step, in parallel over the documents." },
        MaxLineMb = new("--max-line-mb") { Description = "A JSONL line longer than this many MiB is a bad input (an error, or skipped and counted with --on-error skip).", DefaultValueFactory = _ => 64 },
        SplitBytes = new("--split-bytes") { Description = "Cut uncompressed JSONL files larger than this into byte ranges shared among ranks (0 = whole files).", DefaultValueFactory = _ => 0L },
    };

    private static Command Run()
    {
        var cmd = new Command("run", "Run a pipeline of steps over documents: kept documents, removed/<step>.jsonl.gz, stats.json and a funnel table.");
        var o = CommonOptions();
        var config = new Option<string?>("--config", "-c") { Description = "Pipeline config (YAML subset or JSON) with a 'steps' list; see `sharplm data steps`." };
        var steps = new Option<string?>("--steps") { Description = "Comma-separated step names instead of a config (default chain: extract, langid, gopher_repetition, gopher_quality, c4, fineweb, bad_words, pii)." };
        o.AddTo(cmd);
        cmd.Options.Add(config);
        cmd.Options.Add(steps);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var cfgPath = pr.GetValue(config);
            var names = pr.GetValue(steps);
            var cfg = cfgPath is not null ? PipelineConfig.Load(cfgPath) : names is not null ? PipelineConfig.FromNames(names) : PipelineConfig.Default;
            return Execute(pr, o, cfg, cfgPath ?? names ?? "default");
        }));
        return cmd;
    }

    private static Command Single(string name, string description, string step)
    {
        var cmd = new Command(name, description);
        var o = CommonOptions();
        o.AddTo(cmd);
        cmd.SetAction(pr => CliErrors.Run(() => Execute(pr, o, PipelineConfig.FromNames(step), step)));
        return cmd;
    }

    private static Command LangId()
    {
        var cmd = new Command("langid", "Identify each document's language (metadata language, language_score) and keep the chosen languages above a confidence threshold.");
        var o = CommonOptions();
        o.AddTo(cmd);
        var langs = new Option<string>("--languages") { Description = "Comma-separated languages to keep ('all' to only annotate).", DefaultValueFactory = _ => "en" };
        var threshold = new Option<double>("--threshold") { Description = "Minimum confidence of the top language.", DefaultValueFactory = _ => 0.65 };
        var model = new Option<string?>("--model") { Description = "Model file from `sharplm data train-langid` (default: the shipped model)." };
        cmd.Options.Add(langs); cmd.Options.Add(threshold); cmd.Options.Add(model);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var l = pr.GetValue(langs)!;
            var opts = new Dictionary<string, object?>
            {
                ["languages"] = l == "all" ? new List<object?>() : l.Split(',').Select(x => (object?)x.Trim()).ToList(),
                ["threshold"] = pr.GetValue(threshold).ToString(CultureInfo.InvariantCulture),
                ["model"] = pr.GetValue(model),
            };
            if (l == "all") opts["threshold"] = "0";
            return Execute(pr, o, new PipelineConfig { Steps = [("langid", opts)] }, "langid");
        }));
        return cmd;
    }

    private static Command Filter()
    {
        var cmd = new Command("filter", "Apply quality and content rules: gopher_quality, gopher_repetition, c4, fineweb, bad_words, url_blocklist (default: all quality rules).");
        var o = CommonOptions();
        o.AddTo(cmd);
        var steps = new Option<string>("--rules") { Description = "Comma-separated rules to apply.", DefaultValueFactory = _ => "gopher_repetition,gopher_quality,c4,fineweb" };
        cmd.Options.Add(steps);
        cmd.SetAction(pr => CliErrors.Run(() => Execute(pr, o, PipelineConfig.FromNames(pr.GetValue(steps)!), pr.GetValue(steps)!)));
        return cmd;
    }

    private static Command Perplexity()
    {
        var cmd = new Command("perplexity", "Score every document with a SharpLM model (perplexity per token and bits per byte, metadata perplexity, bits_per_byte) and keep those within the thresholds.");
        var o = CommonOptions();
        o.AddTo(cmd);
        var model = new Option<string>("--model", "-m") { Description = "Checkpoint folder (config.json, model.safetensors).", Required = true };
        var tok = new Option<string?>("--model-tokenizer") { Description = "The model's tokenizer.json (file or folder); default: the model folder's, else tokenizer/tokenizer.json of the run above it." };
        var maxPpl = new Option<double?>("--max-perplexity") { Description = "Drop documents above this perplexity per token." };
        var minPpl = new Option<double?>("--min-perplexity") { Description = "Drop documents below this perplexity per token (repeated templates)." };
        var maxBpb = new Option<double?>("--max-bpb") { Description = "Drop documents above this many bits per UTF-8 byte." };
        var minBpb = new Option<double?>("--min-bpb") { Description = "Drop documents below this many bits per UTF-8 byte." };
        var context = new Option<int>("--context") { Description = "Window length in tokens (0 = the model's context).", DefaultValueFactory = _ => 0 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Score at most this many tokens per document (0 = all).", DefaultValueFactory = _ => 0 };
        var rows = new Option<int>("--rows-per-forward") { Description = "Token rows per forward pass (windows of many documents are packed together).", DefaultValueFactory = _ => 1024 };
        var dtype = new Option<string>("--dtype") { Description = "Weight format for scoring: f32, bf16 or int8.", DefaultValueFactory = _ => "f32" };
        foreach (var op in new Option[] { model, tok, maxPpl, minPpl, maxBpb, minBpb, context, maxTokens, rows, dtype }) cmd.Options.Add(op);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
            var opts = new Dictionary<string, object?>
            {
                ["model"] = pr.GetValue(model),
                ["tokenizer"] = pr.GetValue(tok),
                ["context"] = pr.GetValue(context).ToString(CultureInfo.InvariantCulture),
                ["max_tokens"] = pr.GetValue(maxTokens).ToString(CultureInfo.InvariantCulture),
                ["rows_per_forward"] = pr.GetValue(rows).ToString(CultureInfo.InvariantCulture),
                ["dtype"] = pr.GetValue(dtype),
            };
            if (pr.GetValue(maxPpl) is { } a) opts["max_perplexity"] = N(a);
            if (pr.GetValue(minPpl) is { } b) opts["min_perplexity"] = N(b);
            if (pr.GetValue(maxBpb) is { } c) opts["max_bits_per_byte"] = N(c);
            if (pr.GetValue(minBpb) is { } d) opts["min_bits_per_byte"] = N(d);
            return Execute(pr, o, new PipelineConfig { Steps = [("perplexity", opts)] }, "perplexity");
        }));
        return cmd;
    }

    private static Command Steps()
    {
        var cmd = new Command("steps", "List the pipeline steps a config may name, with their options.");
        cmd.SetAction(_ => CliErrors.Run(() =>
        {
            var t = new Table().AddColumns("step", "what it does");
            foreach (var (n, h) in Catalog().List()) t.AddRow(Markup.Escape(n), Markup.Escape(h));
            AnsiConsole.Write(t);
            return 0;
        }));
        return cmd;
    }

    private static Command Report()
    {
        var cmd = new Command("report", "Print the funnel of a finished run (documents and bytes in/out per step, top removal reasons).");
        var stats = new Option<string>("--stats") { Description = "A stats.json, or the run's output folder.", Required = true };
        cmd.Options.Add(stats);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var p = pr.GetValue(stats)!;
            if (Directory.Exists(p)) p = Path.Combine(p, "stats.json");
            PrintFunnel(PipelineStats.Load(p));
            return 0;
        }));
        return cmd;
    }

    private static Command TrainLangId()
    {
        var cmd = new Command("train-langid", "Train the char n-gram language classifier from labelled JSONL ({\"text\",\"language\"} per line).");
        var input = new Option<string>("--input", "-i") { Description = "Training JSONL: text plus a 'language' (or 'label') field.", Required = true };
        var test = new Option<string?>("--test") { Description = "Held-out JSONL to report accuracy on (paragraphs of 100+ characters counted separately)." };
        var output = new Option<string>("--out", "-o") { Description = "Model file to write.", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the data.", DefaultValueFactory = _ => 5 };
        var buckets = new Option<int>("--buckets") { Description = "Hash buckets (power of two).", DefaultValueFactory = _ => 1 << 16 };
        var maxN = new Option<int>("--max-n") { Description = "Longest char n-gram.", DefaultValueFactory = _ => 4 };
        var lr = new Option<float>("--lr") { Description = "Initial learning rate (decays linearly to 0).", DefaultValueFactory = _ => 0.5f };
        var seed = new Option<int>("--seed") { Description = "Shuffle seed.", DefaultValueFactory = _ => 1234 };
        foreach (var op in new Option[] { input, test, output, epochs, buckets, maxN, lr, seed }) cmd.Options.Add(op);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var data = LoadLabelled(pr.GetValue(input)!);
            var opts = new ClassifierTrainOptions { Epochs = pr.GetValue(epochs), Buckets = pr.GetValue(buckets), MaxN = pr.GetValue(maxN), LearningRate = pr.GetValue(lr), Seed = pr.GetValue(seed) };
            if (!System.Numerics.BitOperations.IsPow2(opts.Buckets)) throw new ArgumentException("--buckets must be a power of two");
            var labels = data.Select(d => d.Label).Distinct().Order(StringComparer.Ordinal).ToList();
            AnsiConsole.MarkupLine($"training on {data.Count} examples, {labels.Count} languages: {string.Join(", ", labels)}");
            var model = HashedNgramClassifier.Train(data, opts, labels, (ep, loss) => AnsiConsole.MarkupLine($"epoch {ep + 1}: loss {loss:F4}"));
            var path = pr.GetValue(output)!;
            var tmp = AtomicFiles.TempName(Path.GetFullPath(path));
            using (var fs = File.Create(tmp)) model.Save(fs);
            File.Move(tmp, path, overwrite: true);
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(path)} ({new FileInfo(path).Length / 1024} KiB)");
            if (pr.GetValue(test) is { } testPath)
            {
                var held = LoadLabelled(testPath);
                var (all, allN, longAcc, longN) = Evaluate(model, held);
                AnsiConsole.MarkupLine($"held-out accuracy: {all:P2} on {allN} texts; {longAcc:P2} on {longN} texts of 100+ characters");
            }
            return 0;
        }));
        return cmd;
    }

    private static Command Mix()
    {
        var cmd = new Command("mix", "Count documents, bytes and tokens per domain and sample to target token proportions (mixed.jsonl.gz), writing a high-quality anneal subset (anneal.jsonl.gz) and mixture.json.");
        var input = InputOption();
        var output = OutOption();
        var weights = new Option<string>("--weights") { Description = "Target token shares, e.g. web=0.7,books=0.2,code=0.1 (normalised; unlisted domains dropped).", Required = true };
        var field = new Option<string>("--domain-field") { Description = "Metadata field holding the domain.", DefaultValueFactory = _ => "domain" };
        var model = new Option<string?>("--domain-model") { Description = "Classifier (train-quality/train-langid format) labelling documents without the field." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json to count tokens (default: UTF-8 bytes / 4, marked estimated)." };
        var upsample = new Option<bool>("--upsample") { Description = "Repeat documents of domains below target instead of shrinking the total." };
        var annealScore = new Option<double?>("--anneal-min-score") { Description = "Documents with metadata quality_score at or above this go to anneal.jsonl.gz." };
        var annealDomains = new Option<string?>("--anneal-domains") { Description = "Comma-separated domains whose documents go to anneal.jsonl.gz." };
        foreach (var op in new Option[] { input, output, weights, field, model, tokenizer, upsample, annealScore, annealDomains }) cmd.Options.Add(op);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var w = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var part in pr.GetValue(weights)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var kv = part.Split('=');
                if (kv.Length != 2 || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    throw new ArgumentException($"--weights: expected domain=weight, got '{part}'");
                w[kv[0]] = v;
            }
            HashedNgramClassifier? dm = null;
            if (pr.GetValue(model) is { } mp) { using var fs = File.OpenRead(mp); dm = HashedNgramClassifier.Load(fs, mp); }
            Func<string, int>? count = null;
            if (pr.GetValue(tokenizer) is { } tp) { var tok = SharpLM.Text.Tokenization.BpeTokenizer.Load(tp); count = t => tok.EncodeOrdinary(t).Length; }
            var files = pr.GetValue(input)!.SelectMany(DocumentReaders.ListInputs).ToList();
            var o = new SharpLM.Text.Data.Mixture.MixOptions
            {
                Weights = w,
                DomainField = pr.GetValue(field)!,
                DomainModel = dm,
                CountTokens = count,
                AllowUpsample = pr.GetValue(upsample),
                AnnealMinScore = pr.GetValue(annealScore),
                AnnealDomains = pr.GetValue(annealDomains)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
            };
            var rows = SharpLM.Text.Data.Mixture.DomainMixer.Run(() => DocumentReaders.Read(files), pr.GetValue(output)!, o);
            var t = new Table().Title("domain mixture").AddColumns("domain", "docs", "MB", "tokens", "weight", "rate", "docs out", "tokens out");
            foreach (var r in rows)
                t.AddRow(Markup.Escape(r.Domain), r.Docs.ToString("N0", CultureInfo.InvariantCulture), (r.Bytes / 1e6).ToString("0.00", CultureInfo.InvariantCulture),
                    r.Tokens.ToString("N0", CultureInfo.InvariantCulture), r.Weight.ToString("0.000", CultureInfo.InvariantCulture), r.Rate.ToString("0.000", CultureInfo.InvariantCulture),
                    r.DocsOut.ToString("N0", CultureInfo.InvariantCulture), r.TokensOut.ToString("N0", CultureInfo.InvariantCulture));
            AnsiConsole.Write(t);
            return 0;
        }));
        return cmd;
    }

    private static Command TrainQuality()
    {
        var cmd = new Command("train-quality", "Train the fastText-style quality classifier (hashed word 1–2-grams) from positive and negative JSONL documents; use it with the quality_classifier step.");
        var pos = new Option<string[]>("--positive") { Description = "High-quality examples (files or folders of documents).", Required = true, AllowMultipleArgumentsPerToken = true };
        var neg = new Option<string[]>("--negative") { Description = "Low-quality examples.", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out", "-o") { Description = "Model file to write.", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the data.", DefaultValueFactory = _ => 5 };
        var holdout = new Option<double>("--holdout") { Description = "Fraction of examples held out to report accuracy.", DefaultValueFactory = _ => 0.1 };
        foreach (var op in new Option[] { pos, neg, output, epochs, holdout }) cmd.Options.Add(op);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var p = DocumentReaders.Read(pr.GetValue(pos)!).Select(d => d.Text).ToList();
            var n = DocumentReaders.Read(pr.GetValue(neg)!).Select(d => d.Text).ToList();
            if (p.Count == 0 || n.Count == 0) throw new UserFacingException("need at least one positive and one negative example");
            double h = pr.GetValue(holdout);
            // Deterministic split: every k-th example is held out.
            int k = h <= 0 ? int.MaxValue : Math.Max(2, (int)Math.Round(1 / h));
            bool Held(int i) => i % k == k - 1;
            var model = SharpLM.Text.Data.Quality.QualityClassifierFilter.Train(p.Where((_, i) => !Held(i)), n.Where((_, i) => !Held(i)),
                new ClassifierTrainOptions { Kind = FeatureKind.WordNgrams, MinN = 1, MaxN = 2, Buckets = 1 << 18, Epochs = pr.GetValue(epochs), LearningRate = 1f, MaxChars = 20_000 });
            var path = pr.GetValue(output)!;
            var tmp = AtomicFiles.TempName(Path.GetFullPath(path));
            using (var fs = File.Create(tmp)) model.Save(fs);
            File.Move(tmp, path, overwrite: true);
            var test = p.Where((_, i) => Held(i)).Select(t => (t, "hq")).Concat(n.Where((_, i) => Held(i)).Select(t => (t, "lq"))).ToList();
            AnsiConsole.MarkupLine($"trained on {p.Count} positive, {n.Count} negative; wrote {Markup.Escape(path)}");
            if (test.Count > 0) AnsiConsole.MarkupLine($"held-out accuracy: {Evaluate(model, test).All:P2} on {test.Count} examples");
            return 0;
        }));
        return cmd;
    }

    /// <summary>Accuracy on all texts and on texts of 100+ characters.</summary>
    internal static (double All, int N, double Long, int LongN) Evaluate(HashedNgramClassifier model, List<(string Text, string Label)> data)
    {
        int ok = 0, okLong = 0, nLong = 0;
        foreach (var (text, label) in data)
        {
            bool hit = model.PredictTop(text).Label == label;
            if (hit) ok++;
            if (text.Length >= 100) { nLong++; if (hit) okLong++; }
        }
        return ((double)ok / Math.Max(1, data.Count), data.Count, (double)okLong / Math.Max(1, nLong), nLong);
    }

    internal static List<(string Text, string Label)> LoadLabelled(string path)
    {
        var list = new List<(string, string)>();
        foreach (var d in DocumentReaders.ReadJsonl(path))
        {
            var label = (d.Metadata.GetValueOrDefault("language") ?? d.Metadata.GetValueOrDefault("label")) as string
                ?? throw new InvalidDataException($"{path}: document '{d.Id}' has no string 'language' or 'label' field");
            list.Add((d.Text, label));
        }
        if (list.Count == 0) throw new InvalidDataException($"{path}: no examples");
        return list;
    }

    /// <summary>(rank, world size) from the options or the launcher's environment.</summary>
    internal static (int Rank, int World) RankAndWorld(int? rank, int? world)
    {
        static int? Env(params string[] names)
        {
            foreach (var n in names)
                if (int.TryParse(Environment.GetEnvironmentVariable(n), out int v)) return v;
            return null;
        }
        int r = rank ?? Env("OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_ARRAY_TASK_ID", "SLURM_PROCID") ?? 0;
        int w = world ?? Env("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_ARRAY_TASK_COUNT", "SLURM_NTASKS") ?? 1;
        if (w < 1 || r < 0 || r >= w) throw new ArgumentException($"rank {r} is not in [0, world size {w})");
        return (r, w);
    }

    private static int Execute(ParseResult pr, RunOptions o, PipelineConfig cfg, string fingerprint)
    {
        int threads = cfg.Threads ?? pr.GetValue(o.Threads);
        SharpLM.Tensors.Threading.WorkerPool.Configure(threads); // the perplexity model's forward passes
        var items = cfg.Build(Catalog());
        var (rank, world) = RankAndWorld(pr.GetValue(o.Rank), pr.GetValue(o.WorldSize));
        var units = DocumentReaders.ListUnits(pr.GetValue(o.Input)!, pr.GetValue(o.SplitBytes));
        var mine = units.Where((_, i) => i % world == rank).ToList();
        string outDir = pr.GetValue(o.Out)!;
        if (world > 1) outDir = Path.Combine(outDir, $"rank_{rank:D5}");
        var onError = cfg.OnError ?? pr.GetValue(o.OnError);
        var readOptions = new ReadOptions
        {
            OnError = onError switch { "fail" => BadInputPolicy.Fail, "skip" => BadInputPolicy.Skip, _ => throw new ArgumentException("--on-error must be 'fail' or 'skip'") },
            MaxLineBytes = pr.GetValue(o.MaxLineMb) is var mb && mb is >= 1 and <= 1024 ? mb << 20 : throw new ArgumentException($"--max-line-mb must be in [1, 1024], got {mb}"),
        };
        var fp = string.Join("|", mine.Select(u => $"{Path.GetFullPath(u.File)}[{u.Start},{u.End}):{new FileInfo(u.File).Length}:{File.GetLastWriteTimeUtc(u.File).Ticks}")) + "|" + fingerprint
            + "|tokenizer=" + (pr.GetValue(o.Tokenizer) is { } tp ? Path.GetFullPath(tp) : "")
            + "|" + string.Join(";", cfg.Steps.Select(s => s.Name + (s.Options is null ? "" : string.Join(",", s.Options.Select(kv => $"{kv.Key}={Flat(kv.Value)}")))));
        var runner = new PipelineRunner(items, new PipelineRunOptions
        {
            Threads = threads,
            BatchSize = cfg.BatchSize ?? 256,
            WriteRemoved = !pr.GetValue(o.NoRemoved),
            CompressOutput = !pr.GetValue(o.Plain),
            Fingerprint = fp,
            TokenCounter = TokenCounter(pr.GetValue(o.Tokenizer)),
        });
        AnsiConsole.MarkupLine($"[grey]{mine.Count} input unit(s){(world > 1 ? $" (rank {rank} of {world})" : "")}; steps: {Markup.Escape(string.Join(" → ", items.Select(i => i.Name)))}[/]");
        var stats = runner.Run(DocumentReaders.Read(mine, readOptions), outDir, readOptions);
        PrintFunnel(stats);
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.Combine(outDir, runner.OutputFileName))}, {Markup.Escape(Path.Combine(outDir, "stats.json"))}");
        return 0;
    }

    private static Func<string, long>? TokenCounter(string? path)
    {
        if (path is null) return null;
        var tok = SharpLM.Text.Tokenization.TokenizerFiles.Load(path);
        return text => tok.EncodeOrdinary(text).Length;
    }

    private static string Flat(object? v) => v switch
    {
        null => "",
        string s => s,
        List<object?> l => "[" + string.Join(",", l.Select(Flat)) + "]",
        Dictionary<string, object?> m => "{" + string.Join(",", m.Select(kv => $"{kv.Key}:{Flat(kv.Value)}")) + "}",
        _ => v.ToString() ?? "",
    };

    /// <summary>The funnel table: documents and bytes in/out per step, with the top removal reasons.</summary>
    internal static void PrintFunnel(PipelineStats s)
    {
        var t = new Table().Title("data pipeline funnel").AddColumns("step", "docs in", "docs out", "kept %", "MB in", "MB out", "s", "top reasons");
        foreach (var c in new[] { 1, 2, 3, 4, 5, 6 }) t.Columns[c].RightAligned();
        foreach (var st in s.Steps)
        {
            var reasons = string.Join(", ", st.Removed.OrderByDescending(kv => kv.Value).Take(3).Select(kv => $"{kv.Key.Split(':').Last()} {kv.Value}"));
            t.AddRow(Markup.Escape(st.Name), st.DocsIn.ToString("N0", CultureInfo.InvariantCulture), st.DocsOut.ToString("N0", CultureInfo.InvariantCulture),
                (st.DocsIn == 0 ? 0 : 100.0 * st.DocsOut / st.DocsIn).ToString("0.0", CultureInfo.InvariantCulture),
                (st.BytesIn / 1e6).ToString("0.00", CultureInfo.InvariantCulture), (st.BytesOut / 1e6).ToString("0.00", CultureInfo.InvariantCulture),
                st.Seconds.ToString("0.00", CultureInfo.InvariantCulture), Markup.Escape(reasons));
        }
        t.AddRow("[bold]total[/]", s.DocsIn.ToString("N0", CultureInfo.InvariantCulture), s.DocsOut.ToString("N0", CultureInfo.InvariantCulture),
            (s.DocsIn == 0 ? 0 : 100.0 * s.DocsOut / s.DocsIn).ToString("0.0", CultureInfo.InvariantCulture),
            (s.BytesIn / 1e6).ToString("0.00", CultureInfo.InvariantCulture), (s.BytesOut / 1e6).ToString("0.00", CultureInfo.InvariantCulture),
            s.Seconds.ToString("0.00", CultureInfo.InvariantCulture), s.SkippedInputs > 0 ? $"{s.SkippedInputs} bad inputs skipped" : "");
        AnsiConsole.Write(t);
        if (s.TokensIn is null && s.TokensOut is null) return;
        var tt = new Table().Title("tokens").AddColumns("step", "tokens in", "tokens out", "kept %");
        foreach (var c in new[] { 1, 2, 3 }) tt.Columns[c].RightAligned();
        static string N(long? v) => (v ?? 0).ToString("N0", CultureInfo.InvariantCulture);
        static string P(long? i, long? o) => (i is null or 0 ? 0 : 100.0 * (o ?? 0) / i.Value).ToString("0.0", CultureInfo.InvariantCulture);
        foreach (var st in s.Steps) tt.AddRow(Markup.Escape(st.Name), N(st.TokensIn), N(st.TokensOut), P(st.TokensIn, st.TokensOut));
        tt.AddRow("[bold]total[/]", N(s.TokensIn), N(s.TokensOut), P(s.TokensIn, s.TokensOut));
        AnsiConsole.Write(tt);
    }
}
