// Builds the quickstart's report.md / report.html from what the stages left in the run directory:
// stage markers (timings, summaries), data/funnel.json, base/metrics.jsonl and eval/results.json.
using System.Globalization;
using System.Text.Json.Nodes;
using SharpLM.Evaluation.Metrics;
using SharpLM.Evaluation.Reports;
using SharpLM.Training.Checkpoints;

namespace SharpLM.Cli.Quickstart;

internal static class QuickstartReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // Numbers in summaries may be held as int, long or double (in memory) or as JSON text (read back): parse the text.
    private static double D(JsonNode v) => double.Parse(v.ToJsonString(), Inv);

    private static string N(JsonNode? v) => v is null ? "–" : v.GetValueKind() == System.Text.Json.JsonValueKind.Number
        ? (D(v) is var d && d == Math.Floor(d) && Math.Abs(d) < 1e15 ? ((long)d).ToString("N0", Inv) : d.ToString("0.####", Inv))
        : v.ToString();

    private static string F(JsonNode? v, string fmt = "0.000") => v is null || v.GetValueKind() != System.Text.Json.JsonValueKind.Number ? "–" : D(v).ToString(fmt, Inv);

    private static string P(JsonNode? v) => ReportWriter.Pct(v is null || v.GetValueKind() != System.Text.Json.JsonValueKind.Number ? null : D(v));

    private static string Mb(JsonNode? v, string fmt = "0.0") => v is null ? "–" : (D(v) / 1e6).ToString(fmt, Inv) + " MB";

    /// <summary>The chat command for the newest checkpoint of the run.</summary>
    public static string ChatCommand(QuickstartOptions o) => $"sharplm chat --model {Path.Combine(o.OutDir, "model")}";

    /// <summary>A generation command for the exported model.</summary>
    public static string GenerateCommand(QuickstartOptions o) =>
        $"sharplm generate --model {Path.Combine(o.OutDir, "model")} --temperature 0 --prompt \"Once upon a time, in a town called\"";

    public static void Write(QuickstartOptions o, QuickstartRunner runner, DateTime started)
    {
        var r = new RunReport { Title = "SharpLM quickstart", Command = o.Command, StartedUtc = started, FinishedUtc = DateTime.UtcNow };
        foreach (var s in runner.Stages) r.Stages.Add(new StageTiming(s.Name, s.Seconds, s.Reused));
        JsonObject? Summary(string stage) => runner.Stages.FirstOrDefault(s => s.Name == stage)?.Summary;

        if (Summary("crawl") is { } crawl)
        {
            var rows = new List<(string, string)>
            {
                ("seed", N(crawl["seed"])), ("pages", N(crawl["pages"])), ("HTML", Mb(crawl["html_bytes"])),
                ("main text (ground truth)", Mb(crawl["main_text_bytes"])), ("held-out questions", N(crawl["questions"])),
                // What makes them held out: every question opens with a frame no page contains; their words all occur.
                ("held-out question frames (on no page)", string.Join(", ", SharpLM.Text.Data.Synthetic.QuestionSet.PhrasingMarkers.Select(m => $"\"{m} …\""))),
            };
            if (crawl["labels"] is JsonObject labels)
                foreach (var (k, v) in labels) rows.Add(($"pages labelled {k}", N(v)));
            r.Facts.Add(new FactTable("Synthetic crawl", rows));
        }

        string funnelPath = Path.Combine(runner.Dir("data"), QuickstartStages.FunnelFile);
        if (File.Exists(funnelPath) && JsonNode.Parse(File.ReadAllText(funnelPath)) is JsonObject f)
        {
            foreach (var row in f["funnel"]!.AsArray())
            {
                bool redaction = row!["redaction"]!.GetValueKind() == System.Text.Json.JsonValueKind.True;
                r.Funnel.Add(new FunnelRow(row["step"]!.ToString() + (redaction ? " (redacts)" : ""), (long)D(row["in"]!),
                    (long)D(row["acted"]!), row["target"]!.ToString(), (long)D(row["true_positives"]!), (long)D(row["targets_in"]!),
                    redaction));
            }
            var rows = new List<(string, string)>
            {
                ("documents in → out", $"{N(f["docs_in"])} → {N(f["docs_out"])}"),
                ("clean text out", Mb(f["bytes_out"], "0.00")),
                ("extraction word F1 vs ground truth", F(f["extraction_word_f1"])),
                ("PII values left in kept pages", $"{N(f["pii_values_leaked"])} of {N(f["pii_values_in_kept_pages"])}"),
            };
            foreach (var l in f["labels"]!.AsArray())
                rows.Add(($"{l!["label"]} pages removed", $"{N(l["removed"])} of {N(l["pages"])}"));
            r.Facts.Add(new FactTable("Data pipeline outcome per label", rows));
        }

        if (Summary("tokenizer") is { } tk && Summary("tokens") is { } ts)
            r.Facts.Add(new FactTable("Tokenizer and shards", [
                ("vocabulary (byte-level BPE)", N(tk["vocab_size"])), ("trained on", $"{N(tk["documents"])} documents, {Mb(tk["bytes"], "0.00")}"),
                ("training tokens", $"{N(ts["train_tokens"])} in {N(ts["train_documents"])} documents"), ("validation tokens", $"{N(ts["val_tokens"])} in {N(ts["val_documents"])} documents"),
                ("bytes per token", F(ts["bytes_per_token"], "0.00")),
            ]));

        if (Summary("base") is { } b)
            r.Facts.Add(new FactTable("Model and pretraining", [
                ("architecture", $"Llama-style: {N(b["layers"])} layers, width {N(b["hidden"])}, {N(b["heads"])} heads ({N(b["kv_heads"])} KV), SwiGLU {N(b["intermediate"])}, RoPE, RMSNorm, tied embeddings"),
                ("parameters", N(b["parameters"])), ("context", N(b["context"])),
                ("steps", $"{N(b["steps"])} ({b["status"]})"), ("tokens seen", N(b["tokens"])), ("peak learning rate", N(b["lr"])),
                ("final train loss", F(b["final_loss"])), ("checkpoint", $"base/{b["checkpoint"]}"),
            ]));

        string metrics = Path.Combine(runner.Dir("base"), "metrics.jsonl");
        if (File.Exists(metrics)) r.Metrics = MetricsLog.Read(metrics);

        string resultsPath = Path.Combine(runner.Dir("eval"), QuickstartStages.ResultsFile);
        if (File.Exists(resultsPath) && JsonNode.Parse(File.ReadAllText(resultsPath)) is JsonObject e)
        {
            var val = e["val"]!;
            var uni = e["unigram"]!;
            r.LossReference = ("unigram baseline", D(uni["loss"]!));
            r.Eval.Add(new EvalRow("validation loss (nats/token)", F(val["loss"]), "", $"unigram {F(uni["loss"])}", N(val["tokens"])));
            r.Eval.Add(new EvalRow("validation bits per byte", F(val["bits_per_byte"]), "", $"unigram {F(uni["bits_per_byte"])}", N(val["bytes"]) + " bytes"));
            r.Eval.Add(new EvalRow("validation perplexity", F(val["perplexity"], "0.00"), "", $"unigram {F(uni["perplexity"], "0.0")}", N(val["tokens"])));
            foreach (var (name, t) in e["tasks"]!.AsObject())
            {
                if (name is "facts_crawl_wording" or "facts_cloze")
                {
                    string what = name == "facts_cloze" ? "facts as a cloze in a crawl statement form" : "facts asked as the crawl's quiz pages ask them";
                    r.Eval.Add(new EvalRow($"{what} (diagnostic, not held out): acc", P(t!["acc"]), $"[{P(t["acc_ci95"]![0])}, {P(t["acc_ci95"]![1])}]", $"chance {P(t["chance"])}", N(t["n"])));
                    continue;
                }
                string label = name == "facts" ? "facts (held-out wordings)" : name;
                r.Eval.Add(new EvalRow($"{label}: multiple-choice acc", P(t!["acc"]), $"[{P(t["acc_ci95"]![0])}, {P(t["acc_ci95"]![1])}]", $"chance {P(t["chance"])}", N(t["n"])));
                r.Eval.Add(new EvalRow($"{label}: multiple-choice acc_norm", P(t["acc_norm"]), $"[{P(t["acc_norm_ci95"]![0])}, {P(t["acc_norm_ci95"]![1])}]", $"chance {P(t["chance"])}", N(t["n"])));
            }
            foreach (var (kind, t) in e["by_kind"]!.AsObject())
                r.Eval.Add(new EvalRow($"  {kind}", P(t!["acc"]), $"[{P(t["acc_ci95"]![0])}, {P(t["acc_ci95"]![1])}]", $"chance {P(t["chance"])}", N(t["n"])));
            foreach (var s in e["samples"]!.AsArray()) r.Samples.Add(new SampleText(s!["prompt"]!.ToString(), s["completion"]!.ToString()));
        }
        r.NextSteps.Add(ChatCommand(o));
        r.NextSteps.Add(GenerateCommand(o));
        r.NextSteps.Add($"sharplm quickstart --out {o.OutDir}            # reuses every finished stage; --force redoes them");
        ReportWriter.Write(o.OutDir, r);
    }
}
