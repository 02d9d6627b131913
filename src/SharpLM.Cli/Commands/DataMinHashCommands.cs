// `sharplm data minhash signatures|buckets|cluster|filter`: MinHash-LSH dedup as scale-out stages over a shared
// work folder (SharpLM.Text/Data/Dedup/MinHashStaged.cs, after datatrove's four MinHash stages). Each rank runs
// each stage; a stage starts when the previous one has finished on every rank; finished (stage, rank) tasks
// leave markers in <work>/done/ and are skipped on relaunch.
using System.CommandLine;
using SharpLM.Text.Data;
using SharpLM.Text.Data.Dedup;
using SharpLM.Text.Data.Readers;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

internal static class DataMinHashCommands
{
    /// <summary>The `sharplm data minhash` command.</summary>
    public static Command Create()
    {
        var cmd = new Command("minhash", "MinHash-LSH near-duplicate removal as scale-out stages: 'signatures' (every rank), then 'buckets' (every rank), 'cluster' (rank 0), 'filter' (every rank). Rank r reads every world-size-th input file; the document kept in each cluster is the first in rank-major order (rank 0's documents, then rank 1's, …), as `data dedup --minhash` on that concatenation. Intermediate files are sorted and checksummed; finished tasks are skipped on relaunch.");
        foreach (var stage in MinHashStaged.StageNames) cmd.Subcommands.Add(Stage(stage));
        return cmd;
    }

    private static Command Stage(string stage)
    {
        string help = stage switch
        {
            "signatures" => "Stage 1: sign this rank's documents (every world-size-th input file) and write its sorted band files and signatures.",
            "buckets" => "Stage 2: for the bands b with b mod world-size = rank, k-way merge every rank's band file, verify candidates against the estimated Jaccard, write the pairs.",
            "cluster" => "Stage 3 (rank 0; other ranks return at once): union-find over all pairs, one removal list per rank (the first document of each cluster is kept).",
            _ => "Stage 4: drop this rank's removed documents; writes <out>/rank_NNNNN/documents.jsonl.gz and removed/minhash_dedup.jsonl.gz.",
        };
        var input = new Option<string[]>("--input", "-i") { Description = "Input files or folders (signatures, filter): .jsonl/.json(.gz), .txt, .html/.htm, .warc(.gz); the same list in every stage.", AllowMultipleArgumentsPerToken = true };
        var work = new Option<string>("--work") { Description = "Shared work folder: signatures/, bands/, pairs/, cluster/, done/.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output folder of the filter stage." };
        var rank = new Option<int?>("--rank") { Description = "This task's rank. Default: OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_ARRAY_TASK_ID or SLURM_PROCID, else 0." };
        var world = new Option<int?>("--world-size") { Description = "Number of tasks (the same in every stage). Default: OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_ARRAY_TASK_COUNT or SLURM_NTASKS, else 1." };
        var bands = new Option<int>("--bands") { Description = "MinHash-LSH bands b (the same in every stage).", DefaultValueFactory = _ => 14 };
        var rows = new Option<int>("--rows") { Description = "MinHash-LSH rows per band r.", DefaultValueFactory = _ => 8 };
        var threshold = new Option<double>("--threshold") { Description = "Join a candidate pair only if its estimated Jaccard is ≥ this (0 = every candidate).", DefaultValueFactory = _ => 0.7 };
        var shingle = new Option<int>("--shingle") { Description = "Words per shingle.", DefaultValueFactory = _ => 5 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the MinHash hash functions.", DefaultValueFactory = _ => new MinHashOptions().Seed };
        var threads = new Option<int>("--threads") { Description = "Threads for signatures (0 = one per core); the output does not depend on it.", DefaultValueFactory = _ => 0 };
        var onError = new Option<string>("--on-error") { Description = "Bad input: 'fail' or 'skip' (must be the same in signatures and filter).", DefaultValueFactory = _ => "fail" };
        var cmd = new Command(stage, help);
        foreach (var o in new Option[] { input, work, output, rank, world, bands, rows, threshold, shingle, seed, threads, onError }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var (r, w) = DataFilterCommands.RankAndWorld(pr.GetValue(rank), pr.GetValue(world));
            var opts = new MinHashOptions(pr.GetValue(bands), pr.GetValue(rows), pr.GetValue(shingle), pr.GetValue(threshold), pr.GetValue(seed));
            var st = new MinHashStaged(opts, pr.GetValue(work)!, w);
            IEnumerable<Document> Mine()
            {
                var inputs = pr.GetValue(input);
                if (inputs is null || inputs.Length == 0) throw new ArgumentException($"data minhash {stage}: --input is required");
                var units = DocumentReaders.ListUnits(inputs, 0).Where((_, i) => i % w == r).ToList();
                var ro = new ReadOptions
                {
                    OnError = pr.GetValue(onError) switch { "fail" => BadInputPolicy.Fail, "skip" => BadInputPolicy.Skip, var x => throw new ArgumentException($"--on-error must be 'fail' or 'skip', not '{x}'") },
                };
                return DocumentReaders.Read(units, ro);
            }
            switch (stage)
            {
                case "signatures":
                    if (st.IsDone("signatures", r)) { AnsiConsole.MarkupLine($"[grey]signatures of rank {r} already finished; skipped[/]"); break; }
                    st.Signatures(r, Mine(), pr.GetValue(threads));
                    AnsiConsole.MarkupLine($"signatures of rank {r} of {w} written");
                    break;
                case "buckets":
                    if (st.IsDone("buckets", r)) { AnsiConsole.MarkupLine($"[grey]buckets of rank {r} already finished; skipped[/]"); break; }
                    st.Buckets(r);
                    AnsiConsole.MarkupLine($"bands {string.Join(",", Enumerable.Range(0, opts.Bands).Where(b => b % w == r))} matched");
                    break;
                case "cluster":
                    if (r != 0) { AnsiConsole.MarkupLine($"[grey]cluster runs on rank 0 only[/]"); break; }
                    var c = st.Cluster();
                    AnsiConsole.MarkupLine($"{c.Representative.Length:N0} documents, {c.DuplicateCount:N0} to remove, {c.CandidatePairs:N0} candidate pairs ({c.RejectedPairs:N0} below the threshold)");
                    break;
                default:
                    if (st.IsDone("filter", r)) { AnsiConsole.MarkupLine($"[grey]filter of rank {r} already finished; skipped[/]"); break; }
                    string outDir = Path.Combine(pr.GetValue(output) ?? throw new ArgumentException("data minhash filter: --out is required"), $"rank_{r:D5}");
                    var f = st.Filter(r);
                    long kept = 0;
                    using (var wr = new DocumentWriter(Path.Combine(outDir, "documents.jsonl.gz")))
                    using (var rm = new DocumentWriter(Path.Combine(outDir, "removed", "minhash_dedup.jsonl.gz")))
                    {
                        foreach (var d in Mine())
                        {
                            var v = f.Apply(d);
                            if (v.Keep) { wr.Write(d); kept++; }
                            else { d.Metadata["removed_by"] = $"minhash_dedup:{v.Reason}"; rm.Write(d); }
                        }
                        if (kept + f.RemovedCount != f.Count)
                            throw new InvalidOperationException($"data minhash filter: rank {r} read {kept + f.RemovedCount} documents but signed {f.Count}; the input changed between the stages");
                        wr.Commit(); rm.Commit();
                    }
                    st.FilterDone(r, kept);
                    AnsiConsole.MarkupLine($"rank {r}: kept {kept:N0}, removed {f.RemovedCount:N0}; wrote {Markup.Escape(outDir)}");
                    break;
            }
            return 0;
        }));
        return cmd;
    }
}
