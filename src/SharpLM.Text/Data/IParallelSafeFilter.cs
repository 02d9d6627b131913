// Marks a step whose Apply may run on many documents at once (no shared mutable state, or only thread-safe
// state): the pipeline runner runs such steps in parallel over a batch and keeps the input order in the output.
// Steps that remember documents (exact or URL dedup) are not parallel-safe and run in order on one thread.
namespace SharpLM.Text.Data;

/// <summary>A filter that is safe to call concurrently on different documents.</summary>
public interface IParallelSafeFilter : IDocumentFilter;
