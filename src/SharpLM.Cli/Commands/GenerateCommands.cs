// `sharplm generate` (one prompt → streamed continuation(s) with timing) and `sharplm chat` (an interactive
// loop that keeps the conversation as plain text and continues it; base models get a "User:/Assistant:"
// transcript and the reply stops at the next "\nUser:"). Both load config.json + model.safetensors (+
// tokenizer.json) from a model directory, in the weight format asked (converted on load).
using System.CommandLine;
using System.Globalization;
using System.Text;
using SharpLM.Models.Inference;
using SharpLM.Tensors.Threading;
using SharpLM.Text.Tokenization;

namespace SharpLM.Cli.Commands;

internal static class GenerateCommands
{
    private sealed class Common
    {
        public readonly Option<string> Model = new("--model") { Description = "Model directory (config.json, model.safetensors, tokenizer.json).", Required = true };
        public readonly Option<string> DType = new("--dtype") { Description = "Weight format for inference: f32, bf16 or int8 (converted on load unless the checkpoint already is).", DefaultValueFactory = _ => "f32" };
        public readonly Option<int> Int8Block = new("--int8-block") { Description = "int8 scale block along a row (multiple of 32; 0 = one scale per row).", DefaultValueFactory = _ => 32 };
        public readonly Option<int> MaxTokens = new("--max-tokens") { Description = "Most new tokens per sequence.", DefaultValueFactory = _ => 128 };
        public readonly Option<float> Temperature = new("--temperature") { Description = "Sampling temperature (0 = greedy).", DefaultValueFactory = _ => 0.8f };
        public readonly Option<int> TopK = new("--top-k") { Description = "Keep the k most likely tokens (0 = off).", DefaultValueFactory = _ => 0 };
        public readonly Option<float> TopP = new("--top-p") { Description = "Nucleus sampling mass (1 = off).", DefaultValueFactory = _ => 1f };
        public readonly Option<float> MinP = new("--min-p") { Description = "Drop tokens below min-p × the top probability (0 = off).", DefaultValueFactory = _ => 0f };
        public readonly Option<float> RepetitionPenalty = new("--repetition-penalty") { Description = "CTRL repetition penalty over prompt and output (1 = off).", DefaultValueFactory = _ => 1f };
        public readonly Option<float> FrequencyPenalty = new("--frequency-penalty") { Description = "Subtracted from a logit per earlier occurrence in the output.", DefaultValueFactory = _ => 0f };
        public readonly Option<float> PresencePenalty = new("--presence-penalty") { Description = "Subtracted once from a logit that occurred in the output.", DefaultValueFactory = _ => 0f };
        public readonly Option<ulong> Seed = new("--seed") { Description = "Random seed (runs with the same seed reproduce).", DefaultValueFactory = _ => 1234UL };
        public readonly Option<string[]> Stop = new("--stop") { Description = "Stop string (repeatable); the output ends before it.", AllowMultipleArgumentsPerToken = false };
        public readonly Option<int[]> StopToken = new("--stop-token") { Description = "Stop token id (repeatable); <|endoftext|> is one unless --ignore-eos." };
        public readonly Option<bool> IgnoreEos = new("--ignore-eos") { Description = "Do not stop at <|endoftext|>." };
        public readonly Option<int> Threads = new("--threads") { Description = "Worker threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        public readonly Option<string?> Tokenizer = new("--tokenizer") { Description = "tokenizer.json (file or directory); default: the model directory's, else tokenizer/tokenizer.json of the run directory above it." };

        public void AddTo(Command c)
        {
            foreach (var o in new Option[] { Model, Tokenizer, DType, Int8Block, MaxTokens, Temperature, TopK, TopP, MinP, RepetitionPenalty, FrequencyPenalty, PresencePenalty, Seed, Stop, StopToken, IgnoreEos, Threads })
                c.Options.Add(o);
        }

        public (InferenceModel Model, BpeTokenizer? Tok) Load(ParseResult pr)
        {
            WorkerPool.Configure(pr.GetValue(Threads));
            string dir = pr.GetValue(Model)!;
            var model = InferenceModel.Load(dir, WeightFormats.Parse(pr.GetValue(DType)!), pr.GetValue(Int8Block));
            return (model, FindTokenizer(dir, pr.GetValue(Tokenizer)) is { } tp ? TokenizerJson.Load(tp) : null);
        }

        /// <summary>--tokenizer, else DIR/tokenizer.json, else tokenizer/tokenizer.json in up to three parent directories (runs/NAME/base/STEP → runs/NAME/tokenizer).</summary>
        private static string? FindTokenizer(string dir, string? given)
        {
            try { return ModelPerplexityScorer.FindTokenizer(dir, given); }
            catch (FileNotFoundException e) { throw new UserFacingException(e.Message); }
        }

        public GenerationOptions Options(ParseResult pr, BpeTokenizer? tok, int samples, IEnumerable<string> extraStops)
        {
            var stopTokens = new List<int>(pr.GetValue(StopToken) ?? []);
            if (!pr.GetValue(IgnoreEos) && tok != null && tok.SpecialTokens.TryGetValue("<|endoftext|>", out int eot)) stopTokens.Add(eot);
            var stops = new List<string>(pr.GetValue(Stop) ?? []);
            stops.AddRange(extraStops);
            if (stops.Count > 0 && tok == null) throw new UserFacingException("--stop needs a tokenizer.json in the model directory");
            return new GenerationOptions
            {
                MaxNewTokens = pr.GetValue(MaxTokens),
                Samples = samples,
                StopTokens = stopTokens,
                StopStrings = stops,
                Sampling = new SamplingOptions
                {
                    Temperature = pr.GetValue(Temperature),
                    TopK = pr.GetValue(TopK),
                    TopP = pr.GetValue(TopP),
                    MinP = pr.GetValue(MinP),
                    RepetitionPenalty = pr.GetValue(RepetitionPenalty),
                    FrequencyPenalty = pr.GetValue(FrequencyPenalty),
                    PresencePenalty = pr.GetValue(PresencePenalty),
                    Seed = pr.GetValue(Seed),
                },
            };
        }
    }

    /// <summary>The `generate` verb.</summary>
    public static Command Generate()
    {
        var cmd = new Command("generate", "Continue a prompt with a model directory, streaming the text (UTF-8-safe) and reporting time to first token, prefill and decode tokens/s.");
        var c = new Common();
        c.AddTo(cmd);
        var prompt = new Option<string?>("--prompt") { Description = "Prompt text (needs tokenizer.json)." };
        var promptIds = new Option<string?>("--prompt-ids") { Description = "Prompt as comma-separated token ids (instead of --prompt)." };
        var n = new Option<int>("--n") { Description = "Samples of the prompt, decoded together in one batch.", DefaultValueFactory = _ => 1 };
        var quiet = new Option<bool>("--no-stats") { Description = "Do not print the timing line." };
        foreach (var o in new Option[] { prompt, promptIds, n, quiet }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var (model, tok) = c.Load(pr);
            using (model)
            {
                int[] ids;
                if (pr.GetValue(promptIds) is { } s)
                    ids = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new UserFacingException($"--prompt-ids: '{x}' is not an integer")).ToArray();
                else if (pr.GetValue(prompt) is { } text)
                    ids = (tok ?? throw new UserFacingException($"{pr.GetValue(c.Model)}: no tokenizer.json here or in ../tokenizer (give --tokenizer, or --prompt-ids)")).Encode(text, tok.SpecialTokens.Keys.ToArray());
                else throw new UserFacingException("give --prompt or --prompt-ids");
                int samples = pr.GetValue(n);
                var opts = c.Options(pr, tok, samples, []);
                var gen = new Generator(model, tok);
                var stdout = Console.OpenStandardOutput();
                var res = gen.Generate([ids], opts, out var stats, samples == 1 ? (_, delta) => { var b = Encoding.UTF8.GetBytes(delta); stdout.Write(b); stdout.Flush(); } : null);
                if (samples == 1)
                {
                    if (tok == null) Console.Write(string.Join(' ', res[0].Tokens));
                    Console.WriteLine();
                }
                else
                    foreach (var r in res)
                        Console.WriteLine($"--- sample {r.Sample} ({r.FinishReason}) ---\n{r.Text ?? string.Join(' ', r.Tokens)}");
                if (!pr.GetValue(quiet)) Console.Error.WriteLine(StatsLine(stats, model));
            }
            return 0;
        }));
        return cmd;
    }

    internal static string StatsLine(GenerationStats s, InferenceModel m) => string.Create(CultureInfo.InvariantCulture,
        $"[{WeightFormats.Name(m.Format)}] TTFT {s.TimeToFirstToken * 1000:F0} ms · prefill {s.PromptTokens} tokens at {s.PrefillTokensPerSecond:F1} tokens/s · decode {s.GeneratedTokens - s.FirstTokens} tokens at {s.DecodeTokensPerSecond:F1} tokens/s");

    /// <summary>The `chat` verb.</summary>
    public static Command Chat()
    {
        var cmd = new Command("chat", "Interactive chat in the terminal: the conversation so far is the prompt of each reply (a plain User:/Assistant: transcript for base models). /reset clears the history, /exit or an empty input at end of file quits.");
        var c = new Common();
        c.AddTo(cmd);
        var system = new Option<string?>("--system") { Description = "Text placed before the conversation." };
        cmd.Options.Add(system);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var (model, tok) = c.Load(pr);
            using (model)
            {
                if (tok == null) throw new UserFacingException($"{pr.GetValue(c.Model)}: chat needs a tokenizer: none in the model directory or ../tokenizer; give --tokenizer");
                var gen = new Generator(model, tok);
                var opts = c.Options(pr, tok, 1, ["\nUser:"]);
                var history = new StringBuilder(pr.GetValue(system) is { } sys ? sys.TrimEnd() + "\n\n" : "");
                var stdout = Console.OpenStandardOutput();
                Console.Error.WriteLine($"chat with {pr.GetValue(c.Model)} ({WeightFormats.Name(model.Format)}; /reset, /exit)");
                while (true)
                {
                    Console.Write("> ");
                    string? line = Console.ReadLine();
                    if (line == null || line.Trim() == "/exit") break;
                    if (line.Trim() == "/reset") { history.Clear(); Console.Error.WriteLine("(history cleared)"); continue; }
                    if (line.Length == 0) continue;
                    history.Append("User: ").Append(line).Append("\nAssistant:");
                    var ids = tok.Encode(history.ToString());
                    int keep = Math.Max(1, model.Config.MaxPositions - opts.MaxNewTokens);
                    if (ids.Length > keep) ids = ids[^keep..]; // oldest turns fall out of the context
                    var reply = new StringBuilder();
                    var res = gen.Generate([ids], opts, out var stats, (_, d) => { reply.Append(d); stdout.Write(Encoding.UTF8.GetBytes(d)); stdout.Flush(); });
                    Console.WriteLine();
                    history.Append(res[0].Text ?? reply.ToString()).Append('\n');
                    Console.Error.WriteLine(StatsLine(stats, model));
                }
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>The `quantize` verb.</summary>
    public static Command Quantize()
    {
        var cmd = new Command("quantize", "Convert a checkpoint's matrices ahead of time to int8 (per-block or per-row f32 scales) or bf16; optionally measure the validation-loss change.");
        var model = new Option<string>("--model") { Description = "Input model directory.", Required = true };
        var output = new Option<string>("--out") { Description = "Output model directory.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Target format: int8 or bf16.", DefaultValueFactory = _ => "int8" };
        var block = new Option<int>("--block") { Description = "int8 scale block along a row (multiple of 32; 0 = per row).", DefaultValueFactory = _ => 32 };
        var val = new Option<string?>("--val") { Description = "Token shard (.bin) to measure validation loss before and after." };
        var seq = new Option<int>("--val-seq") { Description = "Tokens per validation window.", DefaultValueFactory = _ => 256 };
        var windows = new Option<int>("--val-windows") { Description = "Validation windows (spread evenly over the shard).", DefaultValueFactory = _ => 8 };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        foreach (var o in new Option[] { model, output, dtype, block, val, seq, windows, threads }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            WorkerPool.Configure(pr.GetValue(threads));
            var f = WeightFormats.Parse(pr.GetValue(dtype)!);
            string src = pr.GetValue(model)!, dst = pr.GetValue(output)!;
            var (n, bytes) = CheckpointQuantizer.Run(src, dst, f, pr.GetValue(block));
            Console.WriteLine($"{dst}: {n} matrices converted to {WeightFormats.Name(f)}, model.safetensors {bytes / 1e6:F1} MB");
            if (pr.GetValue(val) is { } v)
            {
                using var shard = SharpLM.Training.Data.TokenShard.Open(v);
                int T = pr.GetValue(seq) + 1, W = pr.GetValue(windows);
                if (shard.TokenCount < T) throw new UserFacingException($"{v}: {shard.TokenCount} tokens, fewer than one window of {T}");
                var wins = new List<int[]>();
                for (int w = 0; w < W; w++)
                {
                    long start = (shard.TokenCount - T) * w / Math.Max(1, W - 1);
                    var a = new int[T];
                    for (int i = 0; i < T; i++) a[i] = shard.Token(start + i);
                    wins.Add(a);
                }
                double Loss(InferenceModel m) => wins.Average(w => m.MeanLoss(w));
                double before, after;
                using (var m0 = InferenceModel.Load(src, WeightFormat.F32)) before = Loss(m0);
                using (var m1 = InferenceModel.Load(dst, f, pr.GetValue(block))) after = Loss(m1);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"validation loss over {W}×{T - 1} tokens: f32 {before:F4} → {WeightFormats.Name(f)} {after:F4} (Δ {after - before:+0.0000;-0.0000})"));
            }
            return 0;
        }));
        return cmd;
    }
}
