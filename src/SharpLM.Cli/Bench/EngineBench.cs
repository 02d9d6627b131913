// Benchmark verbs of the compute engine: `bench peak` (this machine's FMA peak and copy bandwidth);
// `bench gemm` and `bench kernels` report each kernel as a fraction of these, measured in the same run.
using System.CommandLine;
using SharpLM.Cli.Commands;

namespace SharpLM.Cli.Bench;

internal static class EngineBench
{
    /// <summary>The `sharplm bench` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create() => [Peak(), GemmBench.Create(), AutogradBench.Create()];

    private static Command Peak()
    {
        var cmd = new Command("peak", "Measure this machine's f32 FMA peak (GFLOP/s, one core and all cores) and copy bandwidth (GB/s).");
        var json = BenchCommands.JsonOption();
        cmd.Options.Add(json);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var report = new BenchReport(pr.GetValue(json));
            int all = Environment.ProcessorCount;
            double one = MachinePeak.FmaGflops(1);
            report.Add(new BenchRow("peak", $"fma_f32_{MachinePeak.Isa}", 1, one, "GFLOP/s"));
            if (all > 1)
                report.Add(new BenchRow("peak", $"fma_f32_{MachinePeak.Isa}", all, MachinePeak.FmaGflops(all), "GFLOP/s", "fma_f32_1thread", one));
            double bw1 = MachinePeak.CopyGBs(1);
            report.Add(new BenchRow("peak", "copy_256MiB", 1, bw1, "GB/s"));
            if (all > 1)
                report.Add(new BenchRow("peak", "copy_256MiB", all, MachinePeak.CopyGBs(all), "GB/s", "copy_1thread", bw1));
            // The same limits per CPU-second of this process: on a shared machine, what a core delivers
            // while it runs (the wall-clock rows above also count time other processes took).
            foreach (int t in all > 1 ? new[] { 1, all } : new[] { 1 })
            {
                report.Add(new BenchRow("peak", $"fma_f32_{MachinePeak.Isa}_per_cpu_time", t, MachinePeak.FmaGflopsPerCpuSecond(t), "GFLOP/s"));
                report.Add(new BenchRow("peak", "copy_256MiB_per_cpu_time", t, MachinePeak.CopyGBsPerCpuSecond(t), "GB/s"));
            }
            report.Flush("machine peak");
            return 0;
        }));
        return cmd;
    }
}
