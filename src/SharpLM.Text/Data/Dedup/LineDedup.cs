// Cross-document line (or paragraph) deduplication: the headers, footers, menus and cookie notices that a
// site repeats on every page. Two passes: Observe() counts, for every distinct line of every document, in
// how many documents it occurs; Apply() then removes from each document every line found in ≥ MinDocuments
// documents (all copies, including the first: boilerplate is removed everywhere), and drops documents left
// with no text ("boilerplate_only"). Lines are compared after trimming and collapsing whitespace; blank
// lines are never counted and are kept, so paragraph structure survives.
// Memory is fixed, whatever the corpus size: the counts live in a count-min sketch (Cormode & Muthukrishnan
// 2005) of Depth rows × 2^WidthLog2 saturating 16-bit counters with conservative update (Estan & Varghese
// 2002), indexed by the line's 64-bit hash (Kirsch–Mitzenmacher double hashing). Counts are never under-
// estimated, so every line in ≥ N documents is removed; a line can be over-counted (and wrongly removed)
// only if all Depth of its counters were pushed up by other lines: with U distinct (document, line) pairs
// the over-count exceeds e·U/width with probability ≤ e^-Depth. Default 4 × 2^23 counters = 64 MiB, which
// keeps wrong removals negligible up to ~10⁷ pairs; size WidthLog2 up for larger corpora.
// Apply() only reads the sketch, so pass 2 may run on many documents at once (IParallelSafeFilter); Observe()
// must not run concurrently with Apply().
// Not here: within-document repetition (the Gopher repetition rule), near-duplicate documents (MinHash).
using System.Text;

namespace SharpLM.Text.Data.Dedup;

/// <summary>Whether boilerplate is counted per line or per paragraph (blank-line separated block).</summary>
public enum BoilerplateUnit
{
    /// <summary>One line ('\n'-separated).</summary>
    Line,
    /// <summary>One paragraph (separated by blank lines).</summary>
    Paragraph,
}

/// <summary>Removes lines or paragraphs that occur in at least <see cref="MinDocuments"/> documents.</summary>
public sealed class LineDedup : IParallelSafeFilter
{
    private readonly ushort[] _counts;
    private readonly int _mask;
    private readonly Lock _lock = new();
    private long _observed;

    /// <summary>A line is boilerplate when it occurs in at least this many documents.</summary>
    public int MinDocuments { get; }
    /// <summary>Lines or paragraphs.</summary>
    public BoilerplateUnit Unit { get; }
    /// <summary>Rows of the count-min sketch.</summary>
    public int Depth { get; }
    /// <summary>log2 of the counters per row.</summary>
    public int WidthLog2 { get; }
    /// <summary>Bytes held by the sketch.</summary>
    public long MemoryBytes => (long)_counts.Length * sizeof(ushort);
    /// <summary>Documents observed in pass 1.</summary>
    public long DocumentsObserved => Interlocked.Read(ref _observed);

    /// <inheritdoc/>
    public string Name => Unit == BoilerplateUnit.Line ? "line_dedup" : "paragraph_dedup";

    /// <summary>A line deduplicator; see the file header for the sketch's size and error.</summary>
    public LineDedup(int minDocuments = 3, BoilerplateUnit unit = BoilerplateUnit.Line, int widthLog2 = 23, int depth = 4)
    {
        if (minDocuments < 2 || minDocuments > ushort.MaxValue) throw new ArgumentException($"line dedup: min documents must be in [2, 65535], got {minDocuments}");
        if (widthLog2 < 4 || widthLog2 > 28) throw new ArgumentException($"line dedup: sketch width log2 must be in [4, 28], got {widthLog2}");
        if (depth < 1 || depth > 8) throw new ArgumentException($"line dedup: sketch depth must be in [1, 8], got {depth}");
        MinDocuments = minDocuments; Unit = unit; WidthLog2 = widthLog2; Depth = depth;
        _mask = (1 << widthLog2) - 1;
        _counts = new ushort[(long)depth << widthLog2];
    }

    /// <summary>Pass 1: counts each distinct line of <paramref name="text"/> once. Thread-safe.</summary>
    public void Observe(string text) => ObserveHashes(DistinctUnitHashes(text));

    /// <summary>The distinct non-blank unit hashes of <paramref name="text"/> (the parallel half of pass 1; no shared state).</summary>
    public ulong[] DistinctUnitHashes(string text)
    {
        var units = Units(text);
        var set = new HashSet<ulong>(units.Count);
        foreach (var (start, length) in units)
        {
            ulong h = UnitHash(text.AsSpan(start, length));
            if (h != 0) set.Add(h);
        }
        return [.. set];
    }

    /// <summary>Counts one document's distinct unit hashes (the sequential half of pass 1). Thread-safe.</summary>
    public void ObserveHashes(ReadOnlySpan<ulong> distinct)
    {
        lock (_lock)
        {
            foreach (ulong h in distinct) Increment(h);
            _observed++;
        }
    }

    /// <summary>Pass 1 over many documents: unit hashes computed in parallel batches on <paramref name="threads"/>
    /// threads (0 = all cores), counted in input order (the sketch ends up the same for any thread count).</summary>
    public void ObserveAll(IEnumerable<Document> docs, int threads = 0, int batchSize = 1024)
    {
        var batch = new List<string>(batchSize);
        var po = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        var hashes = new ulong[batchSize][];
        void Flush()
        {
            Parallel.For(0, batch.Count, po, i => hashes[i] = DistinctUnitHashes(batch[i]));
            for (int i = 0; i < batch.Count; i++) ObserveHashes(hashes[i]);
            batch.Clear();
        }
        foreach (var d in docs)
        {
            batch.Add(d.Text);
            if (batch.Count == batchSize) Flush();
        }
        if (batch.Count > 0) Flush();
    }

    /// <summary>Pass 1 for a document.</summary>
    public void Observe(Document doc) => Observe(doc.Text);

    /// <summary>The (over-)estimated number of documents containing <paramref name="line"/>.</summary>
    public int DocumentCount(ReadOnlySpan<char> line)
    {
        ulong h = UnitHash(line);
        return h == 0 ? 0 : Estimate(h);
    }

    /// <summary>Pass 2: removes boilerplate from <paramref name="text"/>; returns the text and how many units went.</summary>
    public (string Text, int Removed) Strip(string text)
    {
        var sb = new StringBuilder(text.Length);
        int removed = 0, last = 0;
        string sep = Unit == BoilerplateUnit.Line ? "\n" : "\n\n";
        foreach (var (start, length) in Units(text))
        {
            ulong h = UnitHash(text.AsSpan(start, length));
            if (h != 0 && Estimate(h) >= MinDocuments) { removed++; continue; }
            if (Unit == BoilerplateUnit.Line)
            {
                // Keep the blank lines between kept lines, as they were.
                sb.Append(text.AsSpan(start, length).TrimEnd('\r')).Append('\n');
            }
            else
            {
                if (h == 0) continue;
                sb.Append(text.AsSpan(start, length).Trim()).Append(sep);
            }
            last = sb.Length;
        }
        if (removed == 0) return (text, 0);
        string s = sb.ToString(0, last).Trim();
        if (Unit == BoilerplateUnit.Line) s = CollapseBlankRuns(s);
        return (s, removed);
    }

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        var (text, removed) = Strip(doc.Text);
        if (removed == 0) return FilterVerdict.Kept;
        doc.Metadata[Unit == BoilerplateUnit.Line ? "boilerplate_lines_removed" : "boilerplate_paragraphs_removed"] = removed;
        if (text.Length == 0) return FilterVerdict.Drop("boilerplate_only");
        doc.Text = text;
        return FilterVerdict.Kept;
    }

    // Line spans ('\n'-separated; a trailing '\r' stays inside and is ignored by the hash) or paragraph
    // spans (maximal runs of non-blank lines).
    private List<(int Start, int Length)> Units(string text)
    {
        var list = new List<(int, int)>();
        int i = 0;
        if (Unit == BoilerplateUnit.Line)
        {
            while (i <= text.Length)
            {
                int nl = text.IndexOf('\n', i);
                int end = nl < 0 ? text.Length : nl;
                list.Add((i, end - i));
                if (nl < 0) break;
                i = nl + 1;
            }
            return list;
        }
        int paraStart = -1, paraEnd = 0;
        while (i <= text.Length)
        {
            int nl = text.IndexOf('\n', i);
            int end = nl < 0 ? text.Length : nl;
            bool blank = text.AsSpan(i, end - i).IsWhiteSpace();
            if (!blank) { if (paraStart < 0) paraStart = i; paraEnd = end; }
            else if (paraStart >= 0) { list.Add((paraStart, paraEnd - paraStart)); paraStart = -1; }
            if (nl < 0) break;
            i = nl + 1;
        }
        if (paraStart >= 0) list.Add((paraStart, paraEnd - paraStart));
        return list;
    }

    // 64-bit hash of the whitespace-collapsed unit, in one pass without a buffer: FNV-1a over the code
    // units with each whitespace run read as one space (none at the ends), then the fmix64 avalanche.
    // 0 for blank units; never 0 otherwise.
    private static ulong UnitHash(ReadOnlySpan<char> unit)
    {
        const ulong prime = 0x100000001B3UL;
        ulong h = 0xCBF29CE484222325UL;
        int n = 0;
        bool pending = false;
        foreach (char c in unit)
        {
            if (c <= ' ' ? c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v' : c >= '\u0085' && char.IsWhiteSpace(c))
            {
                pending = n > 0;
                continue;
            }
            if (pending) { h = (h ^ ' ') * prime; pending = false; n++; }
            h = (h ^ c) * prime;
            n++;
        }
        return n == 0 ? 0 : MinHasher.Fmix64(h ^ (ulong)n) | 1;
    }

    private void Increment(ulong h)
    {
        uint a = (uint)h, b = (uint)(h >> 32) | 1;
        int min = int.MaxValue;
        for (int d = 0; d < Depth; d++) min = Math.Min(min, _counts[((long)d << WidthLog2) + ((a + (uint)d * b) & (uint)_mask)]);
        if (min == ushort.MaxValue) return;
        for (int d = 0; d < Depth; d++)
        {
            ref ushort c = ref _counts[((long)d << WidthLog2) + ((a + (uint)d * b) & (uint)_mask)];
            if (c == min) c++; // conservative update: only the counters at the minimum rise
        }
    }

    private int Estimate(ulong h)
    {
        uint a = (uint)h, b = (uint)(h >> 32) | 1;
        int min = int.MaxValue;
        for (int d = 0; d < Depth; d++) min = Math.Min(min, _counts[((long)d << WidthLog2) + ((a + (uint)d * b) & (uint)_mask)]);
        return min;
    }

    private static string CollapseBlankRuns(string s)
    {
        if (!s.Contains("\n\n\n", StringComparison.Ordinal)) return s;
        var sb = new StringBuilder(s.Length);
        int blank = 0;
        foreach (var range in s.AsSpan().Split('\n'))
        {
            var line = s.AsSpan(range);
            if (line.IsWhiteSpace()) { if (++blank > 1) continue; }
            else blank = 0;
            sb.Append(line).Append('\n');
        }
        return sb.ToString().TrimEnd();
    }
}
