// Precision and recall of a data-pipeline step against ground-truth labels: of the documents a step
// removed, how many carried the label it targets (precision), and of the labelled documents that
// reached the step, how many it removed (recall). Recall is measured on what entered the step, so a
// spam page already dropped by the language filter does not count against the quality filter.
namespace SharpLM.Evaluation.Metrics;

/// <summary>One step of the data funnel with its scores against the labels.</summary>
/// <param name="Step">Step name (e.g. language, quality, minhash).</param>
/// <param name="In">Documents entering the step.</param>
/// <param name="Removed">Documents the step removed.</param>
/// <param name="Target">The label(s) the step is meant to catch, as shown in the report.</param>
/// <param name="TruePositives">Removed documents that carry the target label.</param>
/// <param name="TargetsIn">Entering documents that carry the target label.</param>
/// <param name="Redacts">The step rewrites documents instead of dropping them (e.g. PII): <paramref name="Removed"/> counts
/// the documents it acted on, and every document goes on.</param>
public sealed record FunnelRow(string Step, long In, long Removed, string Target, long TruePositives, long TargetsIn, bool Redacts = false)
{
    /// <summary>Documents left after the step.</summary>
    public long Out => Redacts ? In : In - Removed;
    /// <summary>TP / removed (null when nothing was removed).</summary>
    public double? Precision => Removed == 0 ? null : (double)TruePositives / Removed;
    /// <summary>TP / labelled documents entering (null when none entered).</summary>
    public double? Recall => TargetsIn == 0 ? null : (double)TruePositives / TargetsIn;
}

/// <summary>Scores pipeline steps against labels.</summary>
public static class FilterScoring
{
    /// <summary>
    /// Scores one step: <paramref name="entering"/> ids reached it, <paramref name="removed"/> ids it dropped (a subset),
    /// <paramref name="isTarget"/> tells whether an id carries the label the step targets.
    /// </summary>
    public static FunnelRow Score(string step, string target, IReadOnlyCollection<string> entering, IReadOnlySet<string> removed, Func<string, bool> isTarget)
    {
        long tp = 0, targetsIn = 0, removedIn = 0;
        foreach (var id in entering)
        {
            bool t = isTarget(id), r = removed.Contains(id);
            if (t) targetsIn++;
            if (r) removedIn++;
            if (t && r) tp++;
        }
        if (removedIn != removed.Count)
            throw new ArgumentException($"step {step}: {removed.Count - removedIn} removed documents never entered it");
        return new FunnelRow(step, entering.Count, removed.Count, target, tp, targetsIn);
    }
}
