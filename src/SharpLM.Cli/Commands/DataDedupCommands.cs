// `sharplm data` verbs for deduplication (exact, URL, boilerplate lines, MinHash-LSH) and for tokenizing
// documents into token shards. The work lives in SharpLM.Text/Data/Dedup (DedupJob) and TokenizeJob.cs;
// this file binds options and prints the per-step table.
using System.CommandLine;
using System.Globalization;
using SharpLM.Text.Data.Dedup;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

internal static class DataDedupCommands
{
    /// <summary>The `sharplm data` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create() => [Dedup(), Tokenize(), DedupEvalCmd()];

    private static Command Dedup()
    {
        var input = new Option<string>("--input") { Description = "Documents: JSONL with a \"text\" field (and id, url, source, metadata), optionally gzip.", Required = true };
        var output = new Option<string>("--out") { Description = "Output directory: docs.jsonl (kept), removed/<step>.jsonl, clusters.jsonl, stats.json.", Required = true };
        var exact = new Option<bool>("--exact") { Description = "Exact dedup: drop documents whose text hash was seen before." };
        var url = new Option<bool>("--url") { Description = "URL dedup: drop documents whose normalised URL was seen before." };
        var lines = new Option<bool>("--lines") { Description = "Boilerplate removal: drop lines that occur in at least --line-min-docs documents." };
        var minhash = new Option<bool>("--minhash") { Description = "MinHash-LSH near-duplicate removal (one document kept per cluster). With no step flag, all four steps run." };
        var bits = new Option<int>("--exact-bits") { Description = "Exact-dedup hash width: 64 or 128.", DefaultValueFactory = _ => 64 };
        var normWs = new Option<bool>("--normalize-whitespace") { Description = "Exact dedup: collapse whitespace runs before hashing." };
        var lineMin = new Option<int>("--line-min-docs") { Description = "A line (or paragraph) in at least this many documents is boilerplate.", DefaultValueFactory = _ => 3 };
        var paragraphs = new Option<bool>("--paragraphs") { Description = "Boilerplate unit: blank-line separated paragraphs instead of lines." };
        var sketch = new Option<int>("--line-sketch-log2") { Description = "log2 of the line-count sketch width (4 rows of 16-bit counters: 2^N × 8 bytes).", DefaultValueFactory = _ => 23 };
        var bands = new Option<int>("--bands") { Description = "MinHash-LSH bands b.", DefaultValueFactory = _ => 14 };
        var rows = new Option<int>("--rows") { Description = "MinHash-LSH rows per band r (signature length b·r).", DefaultValueFactory = _ => 8 };
        var threshold = new Option<double>("--threshold") { Description = "Join an LSH candidate pair only if its estimated Jaccard is ≥ this (0 = every candidate).", DefaultValueFactory = _ => 0.7 };
        var shingle = new Option<int>("--shingle") { Description = "Words per MinHash shingle.", DefaultValueFactory = _ => 5 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the MinHash hash functions.", DefaultValueFactory = _ => new MinHashOptions().Seed };
        var threads = new Option<int>("--threads") { Description = "Threads for JSON parsing and writing, line hashing and MinHash signatures (0 = one per core); the output does not depend on it.", DefaultValueFactory = _ => 0 };
        var skipBad = new Option<bool>("--skip-bad-lines") { Description = "Skip and count malformed input lines instead of stopping." };
        var cmd = new Command("dedup", "Deduplicate documents: exact hashes, normalised URLs, boilerplate lines across documents, MinHash-LSH near-duplicates.");
        foreach (var opt in new Option[] { input, output, exact, url, lines, minhash, bits, normWs, lineMin, paragraphs, sketch, bands, rows, threshold, shingle, seed, threads, skipBad })
            cmd.Options.Add(opt);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            bool all = !(pr.GetValue(exact) || pr.GetValue(url) || pr.GetValue(lines) || pr.GetValue(minhash));
            var o = new DedupJobOptions
            {
                Exact = all || pr.GetValue(exact),
                Url = all || pr.GetValue(url),
                Lines = all || pr.GetValue(lines),
                MinHash = all || pr.GetValue(minhash),
                ExactBits = pr.GetValue(bits),
                NormalizeWhitespace = pr.GetValue(normWs),
                LineMinDocuments = pr.GetValue(lineMin),
                LineUnit = pr.GetValue(paragraphs) ? BoilerplateUnit.Paragraph : BoilerplateUnit.Line,
                LineSketchLog2 = pr.GetValue(sketch),
                MinHashOptions = new MinHashOptions(pr.GetValue(bands), pr.GetValue(rows), pr.GetValue(shingle), pr.GetValue(threshold), pr.GetValue(seed)),
                Threads = pr.GetValue(threads),
                SkipBadLines = pr.GetValue(skipBad),
            };
            var r = DedupJob.Run(pr.GetValue(input)!, pr.GetValue(output)!, o, m => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(m)}[/]"));
            PrintSteps(r);
            return 0;
        }));
        return cmd;
    }

    private static void PrintSteps(DedupReport r)
    {
        var ci = CultureInfo.InvariantCulture;
        var table = new Table().AddColumns("step", "docs in", "docs out", "removed", "MB in", "MB out", "step MB/s");
        foreach (var s in r.Steps)
        {
            table.AddRow(s.Step, s.DocsIn.ToString("N0", ci), s.DocsOut.ToString("N0", ci), (s.DocsIn - s.DocsOut).ToString("N0", ci),
                (s.BytesIn / 1e6).ToString("F2", ci), (s.BytesOut / 1e6).ToString("F2", ci), (s.Seconds > 0 ? s.BytesIn / 1e6 / s.Seconds : 0).ToString("F1", ci));
        }
        AnsiConsole.Write(table);
        Console.WriteLine($"documents {r.DocsIn.ToString("N0", ci)} → {r.DocsOut.ToString("N0", ci)} in {r.Seconds.ToString("F1", ci)} s " +
                          $"({(r.Seconds > 0 ? r.BytesIn / 1e6 / r.Seconds : 0).ToString("F1", ci)} MB/s overall, JSON parsing and writing included)" +
                          (r.Clusters > 0 ? $", {r.Clusters.ToString("N0", ci)} near-duplicate clusters" : "") +
                          (r.BadLines > 0 ? $", {r.BadLines} bad lines skipped" : ""));
    }

    private static Command Tokenize()
    {
        var input = new Option<string>("--input") { Description = "Documents: JSONL with a \"text\" field, optionally gzip.", Required = true };
        var tokenizer = new Option<string>("--tokenizer") { Description = "Hugging Face tokenizer.json (byte-level BPE).", Required = true };
        var output = new Option<string>("--out") { Description = "Output directory: train_NNNNNN.bin/.idx, val_NNNNNN.bin/.idx, stats.json.", Required = true };
        var valFraction = new Option<double>("--val-fraction") { Description = "Fraction of documents for validation, chosen by a hash of the document id.", DefaultValueFactory = _ => 0.05 };
        var bos = new Option<bool>("--bos") { Description = "Put the beginning-of-text token before each document (<|begin_of_text|>, <s>, <bos> or <|endoftext|>, or --bos-token)." };
        var eos = new Option<bool>("--eos") { Description = "Put the end-of-text token after each document (<|endoftext|>, </s>, <eos> or <|end_of_text|>, or --eos-token)." };
        var bosToken = new Option<string?>("--bos-token") { Description = "Text of the token used by --bos (implies --bos)." };
        var eosToken = new Option<string?>("--eos-token") { Description = "Text of the token used by --eos (implies --eos)." };
        var shardTokens = new Option<long>("--shard-tokens") { Description = "Start a new shard after this many tokens (documents are not split).", DefaultValueFactory = _ => 100_000_000 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the train/validation split hash.", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "Encoding threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        var skipBad = new Option<bool>("--skip-bad-lines") { Description = "Skip and count malformed input lines instead of stopping." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace token shards already in the output directory." };
        var cmd = new Command("tokenize", "Tokenize documents into token shards (.bin/.idx; uint16 when the vocabulary fits) with a deterministic train/validation split.");
        foreach (var opt in new Option[] { input, tokenizer, output, valFraction, bos, eos, bosToken, eosToken, shardTokens, seed, threads, skipBad, overwrite })
            cmd.Options.Add(opt);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var s = TokenizeJob.Run(new TokenizeOptions
            {
                Input = pr.GetValue(input)!,
                Tokenizer = pr.GetValue(tokenizer)!,
                OutDir = pr.GetValue(output)!,
                ValFraction = pr.GetValue(valFraction),
                Bos = pr.GetValue(bos),
                Eos = pr.GetValue(eos),
                BosToken = pr.GetValue(bosToken),
                EosToken = pr.GetValue(eosToken),
                ShardTokens = pr.GetValue(shardTokens),
                Seed = pr.GetValue(seed),
                Threads = pr.GetValue(threads),
                SkipBadLines = pr.GetValue(skipBad),
                Overwrite = pr.GetValue(overwrite),
            }, m => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(m)}[/]"));
            Console.WriteLine($"wrote {s.TrainShards} train and {s.ValShards} val shard(s) to {pr.GetValue(output)}");
            Console.WriteLine(s.Line());
            return 0;
        }));
        return cmd;
    }
    private static Command DedupEvalCmd()
    {
        var pages = new Option<int>("--pages") { Description = "Pages of the synthetic crawl to generate.", DefaultValueFactory = _ => 5000 };
        var seed = new Option<long>("--seed") { Description = "Seed of the synthetic crawl.", DefaultValueFactory = _ => 1 };
        var bands = new Option<int>("--bands") { Description = "MinHash-LSH bands b.", DefaultValueFactory = _ => 14 };
        var rows = new Option<int>("--rows") { Description = "MinHash-LSH rows per band r.", DefaultValueFactory = _ => 8 };
        var threshold = new Option<double>("--threshold") { Description = "Estimated-Jaccard check on LSH candidates (0 = none).", DefaultValueFactory = _ => 0.7 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var cmd = new Command("dedup-eval", "Score exact + MinHash dedup against the labels of the synthetic crawl (injected exact and near duplicates): precision and recall.");
        foreach (var opt in new Option[] { pages, seed, bands, rows, threshold, json }) cmd.Options.Add(opt);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var o = new MinHashOptions(pr.GetValue(bands), pr.GetValue(rows), Threshold: pr.GetValue(threshold));
            var r = DedupEval.Run(pr.GetValue(pages), pr.GetValue(seed), o);
            var ci = CultureInfo.InvariantCulture;
            if (pr.GetValue(json))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["pages"] = r.Pages,
                    ["exact_labelled"] = r.ExactLabelled,
                    ["near_labelled"] = r.NearLabelled,
                    ["removed"] = r.Removed,
                    ["unlabelled_removed"] = r.FalseRemoved,
                    ["junk_removed"] = r.JunkRemoved,
                    ["precision"] = Math.Round(r.Precision, 4),
                    ["precision_content"] = Math.Round(r.PrecisionExcludingJunk, 4),
                    ["exact_recall"] = Math.Round(r.ExactRecall, 4),
                    ["near_recall"] = Math.Round(r.NearRecall, 4),
                    ["near_recall_j085"] = Math.Round(r.NearRecallHighJaccard, 4),
                    ["near_j085_pages"] = r.NearHighJaccard,
                    ["near_jaccard_min"] = Math.Round(r.NearJaccardMin, 4),
                    ["near_jaccard_median"] = Math.Round(r.NearJaccardMedian, 4),
                }));
                return 0;
            }
            var t = new Table().AddColumns("measure", "value", "of");
            t.AddRow("pages", r.Pages.ToString(ci), "");
            t.AddRow("exact-duplicate recall", r.ExactRecall.ToString("F4", ci), $"{r.ExactRemoved}/{r.ExactLabelled}");
            t.AddRow("near-duplicate recall", r.NearRecall.ToString("F4", ci), $"{r.NearRemoved}/{r.NearLabelled}");
            t.AddRow("near-duplicate recall, Jaccard ≥ 0.85", r.NearRecallHighJaccard.ToString("F4", ci), $"{r.NearHighJaccardRemoved}/{r.NearHighJaccard}");
            t.AddRow("near-duplicate Jaccard min / median", $"{r.NearJaccardMin.ToString("F3", ci)} / {r.NearJaccardMedian.ToString("F3", ci)}", "");
            t.AddRow("precision (all removals)", r.Precision.ToString("F4", ci), $"{r.Removed - r.FalseRemoved}/{r.Removed}");
            t.AddRow("precision (content pages)", r.PrecisionExcludingJunk.ToString("F4", ci), $"{r.Removed - r.FalseRemoved}/{r.Removed - r.JunkRemoved}");
            t.AddRow("unlabelled removals by kind", string.Join(", ", r.FalseRemovedByKind.Select(kv => $"{kv.Key} {kv.Value}")), "");
            AnsiConsole.Write(t);
            return 0;
        }));
        return cmd;
    }
}
