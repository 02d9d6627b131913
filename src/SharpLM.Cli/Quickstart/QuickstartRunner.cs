// `sharplm quickstart`: the whole pipeline on generated data, one stage after another, each reading the
// artifacts of the stage before it from the run directory:
//   crawl/      synthetic web crawl (WARC), labels.jsonl, questions.jsonl, world.json
//   data/       documents.jsonl (clean, deduplicated), funnel.json (precision/recall per step vs labels)
//   tokenizer/  tokenizer.json (byte-level BPE trained on the clean training documents)
//   tokens/     train_*.bin/.idx, val_*.bin/.idx (sharplm data tokenize)
//   base/       pretrained checkpoints, metrics.jsonl, run.json
//   model/      the final weights, config.json and tokenizer.json in one directory (sharplm chat/generate --model)
//   eval/       results.json (loss, bits per byte, unigram baseline, multiple choice, samples)
//   report.md, report.html, plots/
// Each stage directory gets stage.json written last; a stage whose marker exists is reused, unless --force
// or an earlier stage ran again. The time budget (--minutes) goes to pretraining: what is left after the
// stages before it, less a reserve for evaluation.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpLM.Models.IO;

namespace SharpLM.Cli.Quickstart;

/// <summary>Settings of a quickstart run. The defaults are the README's ten-minute run.</summary>
internal sealed record QuickstartOptions
{
    public string OutDir { get; init; } = "runs/quickstart";
    public double Minutes { get; init; } = 10;
    public bool Force { get; init; }
    public int Pages { get; init; } = 12000;
    public long Seed { get; init; } = 1;
    public int VocabSize { get; init; } = 2048;
    public int SeqLen { get; init; } = 128;
    public int MicroBatch { get; init; } = 16;
    /// <summary>Fixed model (layers, width) instead of sizing it to the time budget.</summary>
    public (int Layers, int Width)? Model { get; init; }
    /// <summary>Fixed number of optimizer steps instead of filling the time budget.</summary>
    public long? Steps { get; init; }
    /// <summary>Validation tokens scored in the evaluation stage.</summary>
    public int EvalTokens { get; init; } = 16_384;
    public int ArithmeticQuestions { get; init; } = 100;
    /// <summary>The command line, for the report.</summary>
    public string Command { get; init; } = "sharplm quickstart";
}

/// <summary>What a finished stage recorded in its marker.</summary>
internal sealed record StageResult(string Name, double Seconds, bool Reused, JsonObject Summary);

/// <summary>Runs the quickstart stages in order.</summary>
internal sealed class QuickstartRunner(QuickstartOptions o, Action<string> log)
{
    public const string MarkerName = "stage.json";
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private bool _upstreamRan;
    private readonly DateTime _started = DateTime.UtcNow;

    public string Dir(string stage) => Path.Combine(o.OutDir, stage);

    public List<StageResult> Stages { get; } = [];

    /// <summary>Seconds left of the budget.</summary>
    public double SecondsLeft => o.Minutes * 60 - _clock.Elapsed.TotalSeconds;

    /// <summary>Runs every stage and writes the report; returns the stage results.</summary>
    public List<StageResult> Run()
    {
        Directory.CreateDirectory(o.OutDir);
        Stage("crawl", dir => QuickstartStages.GenerateCrawl(o, dir, log));
        Stage("data", dir => QuickstartStages.CleanData(Dir("crawl"), dir, log));
        Stage("tokenizer", dir => QuickstartStages.TrainTokenizer(o, Dir("data"), dir, log));
        Stage("tokens", dir => QuickstartStages.Tokenize(Dir("data"), Dir("tokenizer"), dir, log));
        Stage("base", dir => QuickstartStages.Pretrain(o, Dir("tokens"), dir, EvalReserveSeconds(), () => SecondsLeft, log));
        Stage("model", dir => QuickstartStages.ExportModel(Dir("base"), Dir("tokenizer"), dir, log));
        Stage("eval", dir => QuickstartStages.Evaluate(o, Dir("crawl"), Dir("model"), Dir("tokens"), dir, log));
        var sw = Stopwatch.StartNew();
        QuickstartReport.Write(o, this, _started);
        Stages.Add(new StageResult("report", sw.Elapsed.TotalSeconds, false, []));
        QuickstartReport.Write(o, this, _started); // again, so the report lists its own stage
        return Stages;
    }

    // Model export and the report; evaluation time is estimated by the pretraining stage from its measured speed.
    private double EvalReserveSeconds() => Math.Max(10, 0.02 * o.Minutes * 60);

    private void Stage(string name, Func<string, JsonObject> body)
    {
        string dir = Dir(name), marker = Path.Combine(dir, MarkerName);
        if (!o.Force && !_upstreamRan && File.Exists(marker))
        {
            var m = JsonNode.Parse(File.ReadAllText(marker))?.AsObject() ?? throw new InvalidDataException($"{marker}: not a JSON object");
            double secs = m["seconds"]?.GetValue<double>() ?? throw new InvalidDataException($"{marker}: missing 'seconds'");
            Stages.Add(new StageResult(name, secs, true, m["summary"]?.AsObject() ?? []));
            log($"{name}: reusing {dir} (from an earlier run; --force redoes it)");
            return;
        }
        if (File.Exists(marker)) File.Delete(marker);
        // Stages that resume by themselves (pretraining from its checkpoints) keep their directory unless forced.
        if (Directory.Exists(dir) && (o.Force || name != "base")) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        _upstreamRan = true;
        log($"{name}: running");
        var sw = Stopwatch.StartNew();
        var summary = body(dir);
        double seconds = sw.Elapsed.TotalSeconds;
        var json = new JsonObject
        {
            ["stage"] = name,
            ["seconds"] = seconds,
            ["finished"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture),
            ["summary"] = summary.DeepClone(),
        };
        AtomicFile.WriteAllText(marker, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Stages.Add(new StageResult(name, seconds, false, summary));
        log($"{name}: done in {seconds:F1} s");
    }
}
