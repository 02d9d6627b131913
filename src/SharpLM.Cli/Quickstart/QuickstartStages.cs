// The stages of `sharplm quickstart`, one method each. Every stage reads what the stage before it wrote
// (paths passed in), writes into its own directory and returns a JSON summary that goes into its
// stage.json marker and the report. See QuickstartRunner for the layout.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpLM.Cli.Commands;
using SharpLM.Evaluation.Metrics;
using SharpLM.Evaluation.Tasks;
using SharpLM.Models.Config;
using SharpLM.Models.IO;
using SharpLM.Models.Modeling;
using SharpLM.Text.Data.Dedup;
using SharpLM.Text.Data.Synthetic;
using SharpLM.Text.Tokenization;
using SharpLM.Training.Checkpoints;
using SharpLM.Training.Data;
using SharpLM.Training.Pretraining;
using Spectre.Console;

namespace SharpLM.Cli.Quickstart;

internal static class QuickstartStages
{
    public const string DocumentsFile = "documents.jsonl", FunnelFile = "funnel.json", TokenizerFile = "tokenizer.json",
        ResultsFile = "results.json", PlanFile = "quickstart_plan.json", EndOfText = "<|endoftext|>";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    // ---- 1. crawl -------------------------------------------------------------------------------

    public static JsonObject GenerateCrawl(QuickstartOptions o, string dir, Action<string> log)
    {
        var s = CrawlFiles.Write(dir, new CrawlOptions(o.Pages, o.Seed), arithmeticQuestions: o.ArithmeticQuestions);
        log($"crawl: {s.Pages:N0} pages, {s.HtmlBytes / 1e6:F1} MB of HTML, {s.Questions} held-out questions");
        var labels = new JsonObject();
        foreach (var (k, v) in s.LabelCounts.OrderBy(kv => (int)kv.Key))
            labels[k == PageLabels.None ? "clean" : string.Join(",", CrawlFiles.LabelNames(k))] = v;
        return new JsonObject
        {
            ["seed"] = o.Seed,
            ["pages"] = s.Pages,
            ["html_bytes"] = s.HtmlBytes,
            ["main_text_bytes"] = s.CleanTextBytes,
            ["questions"] = s.Questions,
            ["labels"] = labels,
            ["warc"] = Path.GetFileName(s.WarcPath),
        };
    }

    // ---- 2. data pipeline + funnel --------------------------------------------------------------

    /// <summary>The labels a pipeline step is meant to remove, by step name; null means "any page that should not be kept".</summary>
    public static (string Name, PageLabels Flags)? TargetOf(string step) => step switch
    {
        // Extraction drops only pages without text; the crawl has none, so it has no target label.
        _ when step.Contains("extract", StringComparison.Ordinal) => ("pages without text", PageLabels.None),
        _ when step.Contains("lang", StringComparison.Ordinal) => ("non-English", PageLabels.NonEnglish),
        _ when step.Contains("pii", StringComparison.Ordinal) => ("PII", PageLabels.Pii),
        _ when step.Contains("minhash", StringComparison.Ordinal) || step.Contains("near", StringComparison.Ordinal)
            => ("near/exact duplicate", PageLabels.NearDuplicate | PageLabels.ExactDuplicate),
        _ when step.Contains("exact", StringComparison.Ordinal) || step.Contains("url", StringComparison.Ordinal)
            => ("exact duplicate", PageLabels.ExactDuplicate),
        _ when step.Contains("gopher", StringComparison.Ordinal) || step.Contains("c4", StringComparison.Ordinal)
               || step.Contains("fineweb", StringComparison.Ordinal) || step.Contains("quality", StringComparison.Ordinal)
               || step.Contains("bad_words", StringComparison.Ordinal)
            => ("spam, keyword-stuffed, thin", PageLabels.Spam | PageLabels.KeywordStuffed | PageLabels.LowQuality),
        _ => null,
    };

    public static JsonObject CleanData(string crawlDir, string dir, Action<string> log)
    {
        string warc = Path.Combine(crawlDir, CrawlFiles.WarcName);
        if (!File.Exists(warc)) warc = Path.Combine(crawlDir, CrawlFiles.PlainWarcName);
        var labels = CrawlFiles.ReadLabels(Path.Combine(crawlDir, CrawlFiles.LabelsName)).ToDictionary(l => l.Url, StringComparer.Ordinal);
        var outcomes = CrawlPipeline.Run(warc, dir, log);

        var funnel = new JsonArray();
        foreach (var step in outcomes)
        {
            var target = TargetOf(step.Step);
            Func<string, bool> isTarget = target is var (_, flags)
                ? id => labels.TryGetValue(id, out var l) && (l.Labels & flags) != 0
                : id => labels.TryGetValue(id, out var l) && !IsKeep(l.Labels);
            var row = FilterScoring.Score(step.Step, target?.Name ?? "any page to drop", step.Entering, step.Acted, isTarget);
            funnel.Add(new JsonObject
            {
                ["step"] = row.Step,
                ["in"] = row.In,
                ["removed"] = step.Redaction ? 0 : row.Removed,
                ["acted"] = row.Removed,
                ["redaction"] = step.Redaction,
                ["target"] = row.Target,
                ["true_positives"] = row.TruePositives,
                ["targets_in"] = row.TargetsIn,
                ["precision"] = row.Precision,
                ["recall"] = row.Recall,
            });
        }

        // Outcome per label over the whole pipeline, extraction quality, PII leaks.
        var kept = DocumentJsonl.Read(Path.Combine(dir, DocumentsFile)).ToDictionary(d => d.Id, d => d.Text, StringComparer.Ordinal);
        var perLabel = new JsonArray();
        foreach (var flag in Enum.GetValues<PageLabels>())
        {
            var pages = labels.Values.Where(l => flag == PageLabels.None ? l.Labels == PageLabels.None : l.Labels.HasFlag(flag)).ToList();
            int keptN = pages.Count(p => kept.ContainsKey(p.Url));
            perLabel.Add(new JsonObject
            {
                ["label"] = flag == PageLabels.None ? "clean" : CrawlFiles.LabelNames(flag).First(),
                ["pages"] = pages.Count,
                ["kept"] = keptN,
                ["removed"] = pages.Count - keptN,
            });
        }
        int piiValues = 0, piiLeaked = 0;
        foreach (var l in labels.Values)
            if (kept.TryGetValue(l.Url, out var text))
                foreach (var v in l.Pii) { piiValues++; if (text.Contains(v, StringComparison.Ordinal)) piiLeaked++; }
        double f1Sum = 0;
        int f1N = 0;
        foreach (var (url, text) in kept)
            if (labels.TryGetValue(url, out var l) && l.Pii.Count == 0)
            {
                f1Sum += WordF1(text, l.CleanText);
                f1N++;
            }
        long bytesOut = kept.Values.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
        var result = new JsonObject
        {
            ["docs_in"] = labels.Count,
            ["docs_out"] = kept.Count,
            ["bytes_out"] = bytesOut,
            ["extraction_word_f1"] = f1N == 0 ? null : f1Sum / f1N,
            ["extraction_pages"] = f1N,
            ["pii_values_in_kept_pages"] = piiValues,
            ["pii_values_leaked"] = piiLeaked,
            ["funnel"] = funnel,
            ["labels"] = perLabel,
        };
        AtomicFile.WriteAllText(Path.Combine(dir, FunnelFile), result.ToJsonString(Indented));
        log($"data: kept {kept.Count:N0} of {labels.Count:N0} pages ({bytesOut / 1e6:F1} MB); extraction word F1 {(f1N == 0 ? 0 : f1Sum / f1N):F3}");
        var summary = (JsonObject)result.DeepClone();
        summary.Remove("funnel");
        summary.Remove("labels");
        return summary;
    }

    private static bool IsKeep(PageLabels l) => (l & ~PageLabels.Pii) == PageLabels.None;

    /// <summary>Bag-of-words F1 between an extraction and the reference main text.</summary>
    public static double WordF1(string got, string want)
    {
        static Dictionary<string, int> Bag(string s)
        {
            var d = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var w in s.Split((char[])[' ', '\n', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries)) d[w] = d.GetValueOrDefault(w) + 1;
            return d;
        }
        var a = Bag(got);
        var b = Bag(want);
        long overlap = a.Sum(kv => (long)Math.Min(kv.Value, b.GetValueOrDefault(kv.Key)));
        long na = a.Values.Sum(), nb = b.Values.Sum();
        if (na == 0 || nb == 0) return na == nb ? 1 : 0;
        double p = (double)overlap / na, r = (double)overlap / nb;
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /// <summary>Share of documents held out for validation.</summary>
    public const double ValFraction = 0.05;

    /// <summary>The validation split of `sharplm data tokenize` (a hash of the id): the tokenizer trains on the other side only.</summary>
    public static bool IsValidation(string id) => TokenizeJob.IsValidation(id, ValFraction, 0);

    // ---- 3. tokenizer ---------------------------------------------------------------------------

    public static JsonObject TrainTokenizer(QuickstartOptions o, string dataDir, string dir, Action<string> log)
    {
        var texts = DocumentJsonl.Read(Path.Combine(dataDir, DocumentsFile)).Where(d => !IsValidation(d.Id)).Select(d => d.Text).ToList();
        if (texts.Count == 0) throw new UserFacingException($"{dataDir}: the data pipeline kept no training documents; use more --pages");
        var tok = new BpeTrainer(BpeTrainerOptions.Gpt2Style(o.VocabSize)).TrainTexts(texts);
        TokenizerJson.Save(tok, Path.Combine(dir, TokenizerFile));
        long bytes = texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
        log($"tokenizer: {tok.VocabSize:N0} tokens trained on {texts.Count:N0} documents ({bytes / 1e6:F1} MB)");
        return new JsonObject { ["vocab_size"] = tok.VocabSize, ["documents"] = texts.Count, ["bytes"] = bytes, ["merges"] = tok.Merges.Length };
    }

    // ---- 4. token shards ------------------------------------------------------------------------

    public static JsonObject Tokenize(string dataDir, string tokDir, string dir, Action<string> log)
    {
        // `sharplm data tokenize`: every document starts with <|endoftext|> (as BOS), which prompts also start with.
        var st = TokenizeJob.Run(new TokenizeOptions
        {
            Input = Path.Combine(dataDir, DocumentsFile),
            Tokenizer = Path.Combine(tokDir, TokenizerFile),
            OutDir = dir,
            ValFraction = ValFraction,
            Bos = true,
            BosToken = EndOfText,
            Overwrite = true,
        });
        log($"tokens: {st.Line()}");
        return new JsonObject
        {
            ["train_tokens"] = st.TrainTokens,
            ["val_tokens"] = st.ValTokens,
            ["train_documents"] = st.TrainDocs,
            ["val_documents"] = st.ValDocs,
            ["bytes"] = st.Bytes,
            ["bytes_per_token"] = st.BytesPerToken,
        };
    }

    /// <summary>All tokens of the shards of one split (train_ or val_), in order, up to <paramref name="max"/>.</summary>
    public static int[] ReadTokens(string dir, string prefix, long max = long.MaxValue)
    {
        var list = new List<int>();
        foreach (var path in TokenLoader.Find(dir, prefix))
        {
            using var shard = TokenShard.Open(path);
            long n = Math.Min(shard.TokenCount, max - list.Count);
            var buf = new int[n];
            shard.CopyTokens(0, buf);
            list.AddRange(buf);
            if (list.Count >= max) break;
        }
        return [.. list];
    }

    // ---- 5. pretraining -------------------------------------------------------------------------

    /// <summary>A small Llama-style config: head dim 32, grouped-query attention with two query heads per KV head.</summary>
    public static ModelConfig SmallLlama(int layers, int width, int vocab, int context)
    {
        int heads = Math.Max(1, width / 32);
        int kv = heads % 2 == 0 ? heads / 2 : heads;
        return new ModelConfig
        {
            Style = ModelStyle.Llama,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kv,
            HiddenSize = width,
            IntermediateSize = ModelConfig.SwiGluWidth(width, 32),
            MaxPositions = context,
            VocabSize = vocab,
            PaddedVocabSize = ModelConfig.PadVocab(vocab, 64),
            NormEps = 1e-5,
            RopeTheta = 10000.0,
            TieWordEmbeddings = true,
        }.Validate();
    }

    /// <summary>Model sizes the budget chooses from, smallest first.</summary>
    public static readonly (int Layers, int Width)[] Ladder = [(2, 64), (2, 96), (3, 128), (4, 128), (4, 192), (6, 256), (8, 384)];

    private sealed record Plan(int Layers, int Width, long Steps, double Minutes, double Lr, double SecondsPerStep);

    public static JsonObject Pretrain(QuickstartOptions o, string tokensDir, string dir, double evalReserve, Func<double> secondsLeft, Action<string> log)
    {
        long trainTokens = ReadTokens(tokensDir, "train_").LongLength;
        int vocab = TokenizerJson.Load(Path.Combine(tokensDir, "..", "tokenizer", TokenizerFile)).VocabSize;
        string planPath = Path.Combine(dir, PlanFile);
        bool resume = File.Exists(planPath) && new CheckpointStore(dir).Latest() != null;
        Plan plan = resume
            ? JsonSerializer.Deserialize<Plan>(File.ReadAllText(planPath)) ?? throw new InvalidDataException($"{planPath}: empty plan")
            : MakePlan(o, vocab, Math.Max(5, secondsLeft() - evalReserve), log);
        if (!resume) AtomicFile.WriteAllText(planPath, JsonSerializer.Serialize(plan, Indented));
        var config = SmallLlama(plan.Layers, plan.Width, vocab, o.SeqLen);
        string configPath = Path.Combine(dir, "model_config.json");
        ModelConfigJson.Write(configPath, config);
        var train = new TrainOptions
        {
            MicroBatch = o.MicroBatch,
            SeqLen = o.SeqLen,
            Lr = plan.Lr,
            WarmupSteps = Math.Max(1, plan.Steps / 20),
            Steps = plan.Steps,
            Minutes = plan.Minutes,
            EvalEvery = (int)Math.Max(1, plan.Steps / 8),
            EvalBatches = 4,
            SampleEvery = 0,
            SaveEvery = (int)Math.Max(1, plan.Steps / 4),
            KeepCheckpoints = 1,
            Seed = (ulong)o.Seed,
        };
        var settings = new RunSettings { DataDir = tokensDir, OutDir = dir, ConfigFile = configPath, Train = train };
        log($"pretrain: {plan.Layers} layers × {plan.Width} wide, {config.ParameterCount() / 1e6:F2} M parameters, {plan.Steps:N0} steps of {train.TokensPerStep:N0} tokens" +
            (resume ? " (resuming)" : $" (~{plan.SecondsPerStep:F2} s per step measured)"));
        double peak = 0;
        TrainResult result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("pretraining", maxValue: plan.Steps);
                result = TrainRun.Execute(settings, resume, (c, seed) => new TransformerModel(c, seed), m => log($"  {m}"),
                    r =>
                    {
                        task.Value = r.Step;
                        task.Description = $"step {r.Step}/{r.TotalSteps} loss {r.Loss:F3} {r.TokensPerSecond:N0} tok/s";
                    }, peak);
                task.Value = plan.Steps;
            });
        var ckpt = new CheckpointStore(dir).Latest() ?? throw new InvalidDataException($"{dir}: training wrote no checkpoint");
        log($"pretrain: {result.Status} at step {result.Step:N0}; checkpoint {ckpt.Directory}");
        return new JsonObject
        {
            ["status"] = result.Status.ToString(),
            ["steps"] = result.Step,
            ["planned_steps"] = plan.Steps,
            ["tokens"] = result.Step * train.TokensPerStep,
            ["parameters"] = config.ParameterCount(),
            ["layers"] = config.NumLayers,
            ["hidden"] = config.HiddenSize,
            ["heads"] = config.NumHeads,
            ["kv_heads"] = config.NumKvHeads,
            ["intermediate"] = config.IntermediateSize,
            ["vocab"] = config.VocabSize,
            ["context"] = config.MaxPositions,
            ["micro_batch"] = train.MicroBatch,
            ["lr"] = train.Lr,
            ["final_loss"] = result.Losses.Count > 0 ? result.Losses[^1] : null,
            ["val_loss"] = result.LastValidation?.Loss,
            ["val_bpb"] = result.LastValidation?.BitsPerByte,
            ["checkpoint"] = Path.GetRelativePath(dir, ckpt.Directory),
            ["train_shard_tokens"] = trainTokens,
        };
    }

    private static Plan MakePlan(QuickstartOptions o, int vocab, double seconds, Action<string> log)
    {
        int B = o.MicroBatch, T = o.SeqLen;
        double Lr(int width) => width <= 128 ? 3e-3 : 2e-3;
        if (o.Model is var (l, w) && o.Steps is long fixedSteps) return new Plan(l, w, fixedSteps, 0, Lr(w), 0);
        // Measure one probe size on this machine now, and scale by FLOPs per token for the others.
        var probe = SmallLlama(3, 128, vocab, T);
        double secPerStep;
        using (var m = new TransformerModel(probe, 1))
        {
            var toks = new int[B * (T + 1)];
            var rng = new SynthRng(7);
            for (int i = 0; i < toks.Length; i++) toks[i] = rng.Next(vocab);
            // Warm up for about two seconds first: until the JIT has promoted the kernels from their first, unoptimised
            // tier, a step is several times slower than in training, and the plan would pick a model far too small.
            var warm = Stopwatch.StartNew();
            for (int i = 0; i < 200 && (i < 3 || warm.Elapsed.TotalSeconds < 2); i++) m.ForwardBackward(toks, B, T, 1f);
            // The fastest of three steps: a shared machine's load spikes inflate single timings.
            double best = double.PositiveInfinity;
            for (int i = 0; i < 3; i++)
            {
                var sw = Stopwatch.StartNew();
                m.ForwardBackward(toks, B, T, 1f);
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            secPerStep = best * 1.15; // + optimizer, validation and checkpoints
        }
        double probeFlops = probe.TrainingFlopsPerToken(T);
        var chosen = o.Model ?? Ladder[0];
        double stepSeconds = secPerStep;
        if (o.Model is null)
            foreach (var (L, C) in Ladder)
            {
                var c = SmallLlama(L, C, vocab, T);
                double s = secPerStep * c.TrainingFlopsPerToken(T) / probeFlops;
                double tokens = seconds / s * B * T;
                // The largest model that still sees ~5 tokens per parameter: below Chinchilla's 20, because the corpus
                // is small and repetitive and a wider model memorises its facts in fewer passes.
                if (tokens >= 5.0 * c.ParameterCount()) { chosen = (L, C); stepSeconds = s; }
            }
        else stepSeconds = secPerStep * SmallLlama(chosen.Layers, chosen.Width, vocab, T).TrainingFlopsPerToken(T) / probeFlops;
        // Leave time for evaluation: forward passes (about a third of a training step per token) over the validation
        // tokens, the questions (held out, plus the fact questions again in two crawl wordings: ~4,200 choices of ~32 tokens)
        // and the greedy samples (~12,000 tokens recomputed).
        // Small calls (one question, one sampled token) cost more than their FLOPs: at least 30 s.
        double evalSeconds = Math.Max(30, stepSeconds / (B * T) * (o.EvalTokens + 4200 * 32 + 12_000) / 3);
        seconds = Math.Max(5, seconds - evalSeconds);
        long steps = o.Steps ?? Math.Max(10, (long)(seconds / stepSeconds));
        log($"pretrain: {seconds:F0} s for training, ~{evalSeconds:F0} s kept for evaluation; probe step {secPerStep:F3} s");
        // The trainer stops at the budget (and saves) if the machine turns out slower than measured.
        return new Plan(chosen.Layers, chosen.Width, steps, o.Steps is null ? seconds / 60 : 0, Lr(chosen.Width), stepSeconds);
    }

    // ---- 5b. a model directory for chat and generation ------------------------------------------

    /// <summary>Copies the newest checkpoint's weights and config and the tokenizer into one directory (what `sharplm chat --model` reads).</summary>
    public static JsonObject ExportModel(string baseDir, string tokDir, string dir, Action<string> log)
    {
        var ckpt = new CheckpointStore(baseDir).Latest() ?? throw new InvalidDataException($"{baseDir}: no checkpoint to export");
        foreach (var (from, name) in new[]
                 {
                     (ckpt.ModelPath, CheckpointStore.ModelFile), (Path.Combine(ckpt.Directory, CheckpointStore.ConfigFile), CheckpointStore.ConfigFile),
                     (Path.Combine(tokDir, TokenizerFile), TokenizerFile),
                 })
            File.Copy(from, Path.Combine(dir, name), overwrite: true);
        log($"model: {dir} (step {ckpt.State.Step})");
        return new JsonObject { ["from"] = Path.GetFullPath(ckpt.Directory), ["step"] = ckpt.State.Step };
    }

    // ---- 6. evaluation --------------------------------------------------------------------------

    public static JsonObject Evaluate(QuickstartOptions o, string crawlDir, string modelDir, string tokensDir, string dir, Action<string> log)
    {
        using var model = TransformerModel.Load(modelDir);
        var tok = TokenizerJson.Load(Path.Combine(modelDir, TokenizerFile));
        int eot = tok.SpecialTokens[EndOfText];
        int[] Encode(string s) => [eot, .. tok.EncodeOrdinary(s)];

        // Language modelling on held-out tokens, against the unigram baseline fitted on the training tokens.
        var val = ReadTokens(tokensDir, "val_", o.EvalTokens);
        var trainTokens = ReadTokens(tokensDir, "train_");
        var unigram = new UnigramModel(tok.VocabSize);
        unigram.Add(trainTokens);
        var lm = LanguageModeling.Score(model, val, Math.Min(o.SeqLen, model.Config.MaxPositions), tok.BytesPerToken, batch: 8);
        var uni = unigram.Score(val, tok.BytesPerToken);
        log($"eval: val loss {lm.Loss:F3} ({lm.BitsPerByte:F3} bits/byte) vs unigram {uni.Loss:F3} ({uni.BitsPerByte:F3} bits/byte) over {lm.Tokens:N0} tokens");

        // Held-out multiple-choice questions.
        var questions = CrawlFiles.ReadQuestions(Path.Combine(crawlDir, CrawlFiles.QuestionsName));
        var scores = MultipleChoice.ScoreAll(model, Encode, questions.Select(q => new McItem(q.Id, q.Prompt, q.Choices, q.Gold, q.Task + "/" + q.Kind)));
        var tasks = new JsonObject();
        foreach (var g in scores.GroupBy(s => s.Item.Group.Split('/')[0]))
            tasks[g.Key] = McJson(McResult.From(g.Key, g.ToList()));
        // Diagnostics, not held out: the same facts and choices asked as the crawl's quiz pages ask them, and as a cloze
        // prompt in one of the crawl's statement forms. Beside the held-out score they separate "has not learned the
        // fact" from "does not recognise it in a new wording".
        var seedWorld = World.Create(ReadSeed(crawlDir));
        var factQuestions = questions.Where(q => q.Task == "facts").ToList();
        if (factQuestions.Count > 0)
        {
            var seen = factQuestions.Select(q => new McItem(q.Id, $"Question: {QuestionSet.CrawlWording(seedWorld, q)}\nAnswer:", q.Choices, q.Gold, "facts_crawl_wording")).ToList();
            tasks["facts_crawl_wording"] = McJson(McResult.From("facts_crawl_wording", MultipleChoice.ScoreAll(model, Encode, seen)));
            var cloze = factQuestions.Select(q => new McItem(q.Id, ClozeContext(seedWorld, q), q.Choices, q.Gold, "facts_cloze")).ToList();
            tasks["facts_cloze"] = McJson(McResult.From("facts_cloze", MultipleChoice.ScoreAll(model, Encode, cloze)));
        }
        var kinds = new JsonObject();
        foreach (var g in scores.GroupBy(s => s.Item.Group))
            kinds[g.Key] = McJson(McResult.From(g.Key, g.ToList()));
        foreach (var (name, node) in tasks)
            log($"eval: {name}: acc {node!["acc"]!.GetValue<double>():P1}, acc_norm {node["acc_norm"]!.GetValue<double>():P1} (chance {node["chance"]!.GetValue<double>():P1}, n = {node["n"]})");

        // Greedy samples from fixed prompts about the world.
        var world = World.Create(ReadSeed(crawlDir));
        var p = world.People[0];
        var q = world.People[1];
        var c = world.Countries[0];
        string[] prompts =
        [
            "Once upon a time, in a town called", $"{p.FullName} is", $"The capital of {c.Name} is",
            $"{p.First}: Good morning, {q.First}! How are you?\n\n{q.First}:", "In this lesson we practise adding small numbers.",
        ];
        var samples = new JsonArray();
        foreach (var prompt in prompts)
        {
            var gen = Validation.Greedy(model, Encode(prompt), 40);
            int stop = Array.IndexOf(gen, eot);
            string text = tok.DecodeToString(stop >= 0 ? gen.AsSpan(0, stop) : gen);
            int para = text.IndexOf("\n\n", StringComparison.Ordinal);
            if (para > 0 && prompt.Contains('\n', StringComparison.Ordinal) == false) text = text[..para];
            samples.Add(new JsonObject { ["prompt"] = prompt, ["completion"] = text });
        }

        var results = new JsonObject
        {
            ["model"] = Path.GetFullPath(modelDir),
            ["val"] = LmJson(lm),
            ["unigram"] = LmJson(uni),
            ["tasks"] = tasks,
            ["by_kind"] = kinds,
            ["samples"] = samples,
        };
        AtomicFile.WriteAllText(Path.Combine(dir, ResultsFile), results.ToJsonString(Indented));
        return (JsonObject)results.DeepClone();
    }

    /// <summary>A cloze prompt in one of the crawl's statement forms whose next word is the answer of <paramref name="q"/>.</summary>
    public static string ClozeContext(World w, McQuestion q) => q.Kind switch
    {
        "residence" => $"{q.Subject} lives in",
        "trade" => $"{q.Subject} works as a",
        "colour" => $"{q.Subject} loves the colour",
        "count" => $"{q.Subject} owns",
        "pet_species" => $"{q.Subject} is {w.PetNamed(q.Subject).Owner}'s",
        "pet_owner" => $"{q.Subject} is",
        "capital" => $"The capital of {q.Subject} is",
        "town_country" => $"{q.Subject} is a town in",
        _ => throw new InvalidDataException($"question {q.Id}: no crawl wording for kind '{q.Kind}'"),
    };

    private static long ReadSeed(string crawlDir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(crawlDir, CrawlFiles.WorldName)));
        return doc.RootElement.GetProperty("seed").GetInt64();
    }

    private static JsonObject LmJson(LmScore s) => new()
    {
        ["loss"] = s.Loss,
        ["bits_per_byte"] = s.BitsPerByte,
        ["perplexity"] = s.Perplexity,
        ["tokens"] = s.Tokens,
        ["bytes"] = s.Bytes,
    };

    private static JsonObject McJson(McResult r)
    {
        var ci = r.AccuracyCi;
        var ciNorm = r.AccuracyNormCi;
        return new JsonObject
        {
            ["n"] = r.N,
            ["acc"] = r.Accuracy,
            ["acc_norm"] = r.AccuracyNorm,
            ["chance"] = r.Chance,
            ["acc_ci95"] = new JsonArray(ci.Low, ci.High),
            ["acc_norm_ci95"] = new JsonArray(ciNorm.Low, ciNorm.High),
        };
    }
}
