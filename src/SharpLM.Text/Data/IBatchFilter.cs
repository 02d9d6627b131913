// A step that decides on a whole batch of documents at once, because its work batches across documents (a language
// model scoring every window of every document of the batch in a few large forward passes, on all cores). The
// pipeline runner calls ApplyBatch with the documents still alive at the step, in input order, on one thread, and
// its thread count; the step parallelises inside on at most that many threads. Apply (one document) must give the same verdict as a batch of one.
namespace SharpLM.Text.Data;

/// <summary>A filter that is fed batches of documents.</summary>
public interface IBatchFilter : IDocumentFilter
{
    /// <summary>Decides on every document of <paramref name="docs"/>: <paramref name="verdicts"/>[i] is the verdict on docs[i];
    /// work runs on at most <paramref name="threads"/> threads (0 = one per core). The verdicts do not depend on it.</summary>
    void ApplyBatch(IReadOnlyList<Document> docs, Span<FilterVerdict> verdicts, int threads = 0);
}
