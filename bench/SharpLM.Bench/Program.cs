// BenchmarkDotNet suites for the hot paths: `dotnet run -c Release --project bench/SharpLM.Bench -- --filter '*'`.
// The `sharplm bench …` verbs are the quick, baseline-relative figures; these suites are the
// statistically careful ones (allocation diagnostics, outlier removal).
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
