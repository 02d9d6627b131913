// `sharplm bench tokenizer`: encode throughput (MB of UTF-8 per second, cl100k_base, one thread and all cores)
// and training time (GPT-2 pattern, to 8192 and to 30000 tokens) on a ~10 MB text, each with a baseline
// measured in the same run:
//  - with --vs-peer and the npm peers installed (reference/tokenizer/setup.sh, node on PATH): bench/peers/
//    tokenizer/peer.mjs runs @dqbd/tiktoken (Rust core in WASM) and js-tiktoken on the same documents, and the
//    Hugging Face tokenizers trainer (native Rust, vocabulary 30000, all cores) on the same file;
//  - otherwise: encode against a textbook BPE encoder in-process (same regex split, rank dictionary of byte
//    strings, quadratic lowest-rank merge, no cache), batched encode against our one-thread figure, and
//    training against our trainer counting on one thread.
// Encode passes are cold: every chunk cache is emptied before each timed pass, so the figure is what one pass
// over new text costs. Documents are the lines of the file; MB counts their UTF-8 bytes without line breaks.
// The default text is the first ~10 MB of Debian's package documentation (/usr/share/doc changelogs and
// copyright files, /usr/share/common-licenses), English prose with some code and names; --input picks another.
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SharpLM.Cli.Commands;
using SharpLM.Text.Tokenization;

namespace SharpLM.Cli.Bench;

internal static class TokenizerBench
{
    /// <summary>The `sharplm bench` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create() => [Command()];

    private static Command Command()
    {
        var cmd = new Command("tokenizer", "Tokenizer speed: encode MB/s on one thread and all cores, training seconds to 8192 and 30000 tokens; vs tiktoken and the Hugging Face trainer with --vs-peer.");
        var json = BenchCommands.JsonOption();
        var threads = BenchCommands.ThreadsOption();
        var input = new Option<string?>("--input", "-i") { Description = "Text file to measure on (default: ~10 MB gathered from /usr/share/doc)." };
        var size = new Option<int>("--size-mb") { Description = "Size of the default text in MB.", DefaultValueFactory = _ => 10 };
        var ranks = new Option<string?>("--ranks") { Description = "cl100k_base.tiktoken(.gz) rank file (default: the test fixture in this repository)." };
        var peer = new Option<bool>("--vs-peer") { Description = "Also run tiktoken and the Hugging Face trainer (npm, via node) on the same text and report ratios to them." };
        var repeats = new Option<int>("--repeats") { Description = "Timed passes per measurement (median reported).", DefaultValueFactory = _ => 3 };
        var noTrain = new Option<bool>("--no-train") { Description = "Skip the training measurements." };
        foreach (var o in new Option[] { json, threads, input, size, ranks, peer, repeats, noTrain }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            int t = pr.GetValue(threads);
            if (t < 0) throw new UserFacingException($"--threads must be ≥ 0 (0 = one per core), got {t}");
            var report = new BenchReport(pr.GetValue(json));
            Run(report, t > 0 ? t : Environment.ProcessorCount, pr.GetValue(input), pr.GetValue(size), pr.GetValue(ranks),
                pr.GetValue(peer), Math.Max(1, pr.GetValue(repeats)), !pr.GetValue(noTrain), pr.InvocationConfiguration.Output);
            report.Flush("sharplm bench tokenizer");
            return 0;
        }));
        return cmd;
    }

    private static void Run(BenchReport report, int threads, string? input, int sizeMb, string? ranksPath, bool vsPeer,
                            int repeats, bool train, TextWriter log)
    {
        string file = input ?? DefaultText(sizeMb);
        if (!File.Exists(file)) throw new FileNotFoundException($"input file not found: {file}", file);
        var docs = TokenizerFiles.ReadDocuments(file).ToArray();
        double mb = docs.Sum(d => (long)Encoding.UTF8.GetByteCount(d)) / 1e6;
        if (!report.Json) log.WriteLine($"text: {file} ({mb:F1} MB in {docs.Length:N0} lines)");

        ranksPath ??= FindInRepo(Path.Combine("tests", "SharpLM.Text.Tests", "Fixtures", "tokenizer", "cl100k_base.tiktoken.gz"))
            ?? throw new UserFacingException("cl100k_base rank file not found; pass --ranks PATH (e.g. tests/SharpLM.Text.Tests/Fixtures/tokenizer/cl100k_base.tiktoken.gz)");
        var tok = TiktokenFile.LoadKnown(ranksPath, "cl100k_base");

        Dictionary<string, JsonElement>? peers = vsPeer ? RunPeers(file, repeats, train, report.Json ? null : log) : null;
        if (vsPeer && peers is null && !report.Json) log.WriteLine("peers not available (node, or reference/tokenizer/node_modules missing): in-process baselines used");

        // ---- encode, one thread, cold cache per pass
        long tokens = 0;
        var (one, oneCpu) = MedianCold(tok, repeats, () => { long n = 0; foreach (var d in docs) n += tok.EncodeOrdinary(d).Length; tokens = n; });
        double oneCores = oneCpu / one;
        string encCase = "encode_cl100k_base_1t";
        if (peers is not null && peers.TryGetValue("@dqbd/tiktoken", out var dq))
        {
            report.Add(new BenchRow("tokenizer", encCase, 1, mb / one, "MB/s", "@dqbd/tiktoken " + dq.GetProperty("version").GetString(), dq.GetProperty("value").GetDouble(),
                                    Note: $"{tokens} tokens (tiktoken {dq.GetProperty("tokens").GetInt64()}); target ratio ≥ 1.5; the process got {oneCores.ToString("F2", CultureInfo.InvariantCulture)} cores"));
            report.Add(new BenchRow("tokenizer", encCase + "_per_cpu_second", 1, mb / oneCpu, "MB/cpu-s", "@dqbd/tiktoken per cpu second", dq.GetProperty("cpu_value").GetDouble(),
                                    Note: "work per CPU-second of each process: robust when the machine is loaded"));
            if (peers.TryGetValue("js-tiktoken", out var js))
                report.Add(new BenchRow("tokenizer", encCase, 1, mb / one, "MB/s", "js-tiktoken " + js.GetProperty("version").GetString(), js.GetProperty("value").GetDouble()));
        }
        else
        {
            var naive = new TextbookBpe(TiktokenFile.ReadRanks(ranksPath), PreTokenizerPatterns.Cl100k);
            int sample = SampleCount(docs, 1_000_000);
            double naiveS = BenchTiming.MedianSeconds(() => { for (int i = 0; i < sample; i++) naive.Encode(docs[i]); }, Math.Min(repeats, 3));
            double sampleMb = docs.Take(sample).Sum(d => (long)Encoding.UTF8.GetByteCount(d)) / 1e6;
            report.Add(new BenchRow("tokenizer", encCase, 1, mb / one, "MB/s", "textbook_bpe_1t", sampleMb / naiveS, Note: $"{tokens} tokens"));
        }

        // ---- encode batched over all cores
        // On a shared, overloaded machine the scheduler may give the process less than one core whatever its thread
        // count; MB per CPU-second of the process then shows whether the threads would scale on free cores
        // (ratio to one thread ≈ 1: no work lost to the parallel split; wall speedup ≈ threads × that ratio).
        var (batched, batchedCpu) = MedianCold(tok, repeats, () => tok.EncodeBatch(docs, threads: threads, ordinary: true));
        string ci(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
        report.Add(new BenchRow("tokenizer", $"encode_cl100k_base_{threads}t", threads, mb / batched, "MB/s", "sharplm_encode_1t", mb / one,
                                Note: $"the process got {ci(batchedCpu / batched)} cores (one thread: {ci(oneCores)}); load average {LoadAverage()}"));
        report.Add(new BenchRow("tokenizer", $"encode_cl100k_base_{threads}t_per_cpu_second", threads, mb / batchedCpu, "MB/cpu-s", "sharplm_encode_1t_per_cpu_second", mb / oneCpu,
                                Note: "parallel efficiency: work done per CPU-second with all threads vs one"));

        if (!train) return;
        // ---- training (GPT-2 pattern, as the peer's ByteLevel pre-tokenizer), time in seconds: ratio < 1 is faster
        var trainCpu = new Dictionary<int, double>();
        double Train(int vocab, int minFreq, int countThreads)
        {
            var proc = Process.GetCurrentProcess();
            var cpus = new List<double>();
            double s = BenchTiming.MedianSeconds(() =>
            {
                proc.Refresh();
                var c0 = proc.TotalProcessorTime;
                new BpeTrainer(new BpeTrainerOptions(vocab, minFreq, Threads: countThreads)).TrainFiles([file]);
                proc.Refresh();
                cpus.Add((proc.TotalProcessorTime - c0).TotalSeconds);
            }, Math.Min(repeats, 3), warmup: 0);
            cpus.Sort();
            trainCpu[vocab] = cpus[cpus.Count / 2];
            return s;
        }
        double t8k = Train(8192, 2, threads);
        double t30k = Train(30000, 0, threads);
        if (peers is not null && peers.TryGetValue("hf-tokenizers", out var hf))
        {
            string name = "hf-tokenizers " + hf.GetProperty("version").GetString() + " vocab 30000";
            double hfS = hf.GetProperty("value").GetDouble();
            report.Add(new BenchRow("tokenizer", "train_gpt2_vocab8192", threads, t8k, "s", name, hfS, Note: "seconds: ratio < 1 is faster; target: faster than the peer"));
            report.Add(new BenchRow("tokenizer", "train_gpt2_vocab30000", threads, t30k, "s", name, hfS, Note: "seconds: ratio < 1 is faster"));
            double hfCpu = hf.GetProperty("cpu_value").GetDouble();
            report.Add(new BenchRow("tokenizer", "train_gpt2_vocab8192_cpu_seconds", threads, trainCpu[8192], "cpu-s", name + " cpu seconds", hfCpu, Note: "process CPU seconds: ratio < 1 is less work"));
            report.Add(new BenchRow("tokenizer", "train_gpt2_vocab30000_cpu_seconds", threads, trainCpu[30000], "cpu-s", name + " cpu seconds", hfCpu, Note: "process CPU seconds: ratio < 1 is less work"));
        }
        else
        {
            double single = Train(8192, 2, 1);
            report.Add(new BenchRow("tokenizer", "train_gpt2_vocab8192", threads, t8k, "s", "sharplm_train_counting_1t", single, Note: "seconds: ratio < 1 is faster"));
            report.Add(new BenchRow("tokenizer", "train_gpt2_vocab30000", threads, t30k, "s", Note: "seconds"));
        }
    }

    // Median wall seconds and median process CPU seconds of a pass, each pass starting from empty chunk caches.
    private static (double Wall, double Cpu) MedianCold(BpeTokenizer tok, int repeats, Action pass)
    {
        pass(); // JIT and regex warm-up
        var proc = Process.GetCurrentProcess();
        var wall = new double[repeats];
        var cpu = new double[repeats];
        for (int r = 0; r < repeats; r++)
        {
            tok.ClearCache();
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            pass();
            wall[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            proc.Refresh();
            cpu[r] = (proc.TotalProcessorTime - c0).TotalSeconds;
        }
        Array.Sort(wall);
        Array.Sort(cpu);
        return (wall[repeats / 2], cpu[repeats / 2]);
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    private static int SampleCount(string[] docs, long bytes)
    {
        long n = 0;
        for (int i = 0; i < docs.Length; i++)
        {
            n += docs[i].Length;
            if (n >= bytes) return i + 1;
        }
        return docs.Length;
    }

    // ------------------------------------------------------------------ peers

    private static Dictionary<string, JsonElement>? RunPeers(string file, int repeats, bool train, TextWriter? log)
    {
        var script = FindInRepo(Path.Combine("bench", "peers", "tokenizer", "peer.mjs"));
        var modules = FindInRepo(Path.Combine("reference", "tokenizer", "node_modules", "@dqbd", "tiktoken"), directory: true);
        if (script is null || modules is null) return null;
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--file", file, "--encoding", "cl100k_base", "--repeats", repeats.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        if (!train) psi.ArgumentList.Add("--no-train");
        log?.WriteLine("running peers: node " + string.Join(' ', psi.ArgumentList));
        Process? p;
        try { p = Process.Start(psi); }
        catch (System.ComponentModel.Win32Exception) { return null; }
        if (p is null) return null;
        var stderr = p.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null) lines.Add(line);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new UserFacingException($"peer script failed ({p.ExitCode}): {stderr.Result}");
        var result = new Dictionary<string, JsonElement>();
        foreach (var l in lines)
        {
            if (!l.StartsWith('{')) continue; // the Rust trainer's progress output
            var e = JsonDocument.Parse(l).RootElement;
            result[e.GetProperty("peer").GetString()!] = e;
        }
        return result;
    }

    private static string? FindInRepo(string relative, bool directory = false)
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var p = Path.Combine(d.FullName, relative);
                if (directory ? Directory.Exists(p) : File.Exists(p)) return p;
            }
        return null;
    }

    // ------------------------------------------------------------------ default text

    private static string DefaultText(int sizeMb)
    {
        long target = (long)sizeMb << 20;
        var path = Path.Combine(Path.GetTempPath(), $"sharplm-bench-tokenizer-{sizeMb}mb.txt");
        if (File.Exists(path) && new FileInfo(path).Length >= target * 9 / 10) return path;
        var files = new List<string>();
        foreach (var root in new[] { "/usr/share/common-licenses", "/usr/share/doc" })
            if (Directory.Exists(root))
                files.AddRange(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                    .Where(f => Path.GetFileName(f) is "copyright" || f.EndsWith(".gz", StringComparison.Ordinal) && Path.GetFileName(f).StartsWith("changelog", StringComparison.Ordinal)
                                || root.EndsWith("licenses", StringComparison.Ordinal)));
        files.Sort(StringComparer.Ordinal);
        var strict = new UTF8Encoding(false, true);
        long written = 0;
        var tmp = path + ".tmp";
        using (var w = new StreamWriter(tmp, false, new UTF8Encoding(false)))
        {
            foreach (var f in files)
            {
                if (written >= target) break;
                string text;
                try
                {
                    using var fs = File.OpenRead(f);
                    using Stream s = f.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(fs, CompressionMode.Decompress) : fs;
                    using var ms = new MemoryStream();
                    s.CopyTo(ms);
                    text = strict.GetString(ms.GetBuffer(), 0, (int)ms.Length);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or DecoderFallbackException or UnauthorizedAccessException) { continue; }
                w.Write(text);
                if (!text.EndsWith('\n')) w.Write('\n');
                written += Encoding.UTF8.GetByteCount(text);
            }
        }
        if (written == 0) throw new UserFacingException("no text found under /usr/share/doc; pass --input FILE");
        File.Move(tmp, path, overwrite: true);
        return path;
    }

    /// <summary>The textbook BPE encoder (in-process baseline): same regex split, ranks in a dictionary keyed by the
    /// token's bytes, quadratic lowest-rank merge of adjacent parts, no cache.</summary>
    private sealed class TextbookBpe
    {
        private readonly Dictionary<string, int> _rank = new(StringComparer.Ordinal);
        private readonly PreTokenizer _pre;

        public TextbookBpe(IReadOnlyList<byte[]?> ranks, string pattern)
        {
            for (int r = 0; r < ranks.Count; r++)
                if (ranks[r] is { } b) _rank[Encoding.Latin1.GetString(b)] = r;
            _pre = new PreTokenizer(pattern);
        }

        public List<int> Encode(string text)
        {
            var ids = new List<int>();
            foreach (var chunk in _pre.SplitToStrings(text))
            {
                var parts = Encoding.UTF8.GetBytes(chunk).Select(b => Encoding.Latin1.GetString([b])).ToList();
                while (parts.Count > 1)
                {
                    int best = -1, bestRank = int.MaxValue;
                    for (int i = 0; i + 1 < parts.Count; i++)
                        if (_rank.TryGetValue(parts[i] + parts[i + 1], out int r) && r < bestRank) { bestRank = r; best = i; }
                    if (best < 0) break;
                    parts[best] += parts[best + 1];
                    parts.RemoveAt(best + 1);
                }
                foreach (var p in parts) ids.Add(_rank[p]);
            }
            return ids;
        }
    }
}
