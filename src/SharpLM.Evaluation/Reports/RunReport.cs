// The content of a run report (report.md / report.html): what was run and how (command, machine, stage
// timings), what the data pipeline did (funnel with precision/recall per step against labels), the
// tokenizer, the model and its training (loss curves from metrics.jsonl), the evaluation table and
// samples. Stages fill in what they know; a section with nothing in it is left out of the report.
using SharpLM.Evaluation.Metrics;
using SharpLM.Training.Checkpoints;

namespace SharpLM.Evaluation.Reports;

/// <summary>How long a stage took and whether its artifacts were reused from an earlier run.</summary>
public sealed record StageTiming(string Name, double Seconds, bool Reused, string Note = "");

/// <summary>A titled table of key/value facts.</summary>
public sealed record FactTable(string Title, IReadOnlyList<(string Key, string Value)> Rows);

/// <summary>One row of the evaluation table.</summary>
/// <param name="Metric">What was measured.</param>
/// <param name="Value">The value, formatted.</param>
/// <param name="Interval">95% interval, formatted, or empty.</param>
/// <param name="Reference">The baseline to compare with (unigram, chance), formatted, or empty.</param>
/// <param name="N">Items the value is over (tokens, questions), formatted.</param>
public sealed record EvalRow(string Metric, string Value, string Interval, string Reference, string N);

/// <summary>A prompt and what the model continued it with.</summary>
public sealed record SampleText(string Prompt, string Completion);

/// <summary>Everything a run report shows.</summary>
public sealed class RunReport
{
    /// <summary>Heading.</summary>
    public string Title { get; set; } = "SharpLM run";
    /// <summary>The exact command line.</summary>
    public string Command { get; set; } = "";
    /// <summary>Start (UTC).</summary>
    public DateTime StartedUtc { get; set; } = DateTime.UtcNow;
    /// <summary>End (UTC).</summary>
    public DateTime FinishedUtc { get; set; } = DateTime.UtcNow;
    /// <summary>The machine.</summary>
    public MachineInfo Machine { get; set; } = MachineInfo.Current();
    /// <summary>Stage timings in order.</summary>
    public List<StageTiming> Stages { get; } = [];
    /// <summary>Data funnel steps in order.</summary>
    public List<FunnelRow> Funnel { get; } = [];
    /// <summary>Free-form key/value tables (data, tokenizer, model, training), in order.</summary>
    public List<FactTable> Facts { get; } = [];
    /// <summary>Training metrics (metrics.jsonl).</summary>
    public List<MetricsRecord> Metrics { get; set; } = [];
    /// <summary>A horizontal reference line on the loss plot (e.g. the unigram baseline loss), or null.</summary>
    public (string Name, double Value)? LossReference { get; set; }
    /// <summary>Evaluation table.</summary>
    public List<EvalRow> Eval { get; } = [];
    /// <summary>Greedy samples.</summary>
    public List<SampleText> Samples { get; } = [];
    /// <summary>Closing lines (e.g. how to chat with the model).</summary>
    public List<string> NextSteps { get; } = [];
}
