// Locality-sensitive hashing over MinHash signatures (Indyk & Motwani 1998; Leskovec, Rajaraman & Ullman,
// "Mining of Massive Datasets" §3.4): the K = b·r signature is cut into b bands of r rows, each band hashed
// to one 64-bit key (XXH3 of its r minima, seeded by the band number); documents sharing a key in any band
// are candidates, which happens with probability 1-(1-s^r)^b for Jaccard s (14 × 8: 0.2 % at s=0.3, 5 % at
// 0.5, 50 % near 0.72, 98.8 % at 0.85). Candidates are verified against the estimated Jaccard of the full
// signatures (when Threshold > 0), which removes the S-curve's tail of false positives; verified pairs are
// joined in a union-find whose root is the earliest document, so each cluster keeps its first member.
// Buckets are found by sorting (key, document) per band — no hash table, deterministic, 12 bytes per
// document per band while clustering. Inside a bucket each member is verified against the bucket's first
// member and, failing that, its predecessor: linear in the bucket size.
// Memory of the index: b 64-bit band keys + K 32-bit signature entries (the low halves, for verification:
// a spurious 32-bit equality has probability 2⁻³²) = 8b + 4K bytes per document, 560 B at 14 × 8; one index
// holds at most 2³¹/K documents (19 M at K = 112).
// Not here: shingling and signatures (MinHash.cs), reading or writing documents (DedupJob.cs).
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace SharpLM.Text.Data.Dedup;

/// <summary>The clusters found by <see cref="MinHashIndex.Cluster"/>.</summary>
public sealed class MinHashClusters
{
    /// <summary>For each document, the index of its cluster's kept member (itself when kept or unique).</summary>
    public required int[] Representative { get; init; }
    /// <summary>For each document, the estimated Jaccard with its representative (1 for representatives).</summary>
    public required float[] Similarity { get; init; }
    /// <summary>Candidate pairs examined (bucket members after the first).</summary>
    public long CandidatePairs { get; init; }
    /// <summary>Candidate pairs rejected by the threshold check.</summary>
    public long RejectedPairs { get; init; }

    /// <summary>Whether document i is removed (it is in a cluster whose kept member is another document).</summary>
    public bool IsDuplicate(int i) => Representative[i] != i;

    /// <summary>Number of removed documents.</summary>
    public int DuplicateCount { get { int n = 0; for (int i = 0; i < Representative.Length; i++) if (Representative[i] != i) n++; return n; } }
}

/// <summary>Accumulates MinHash band keys and signatures of documents in order, then clusters them.</summary>
public sealed class MinHashIndex(MinHashOptions options)
{
    private readonly List<ulong> _bandKeys = [];   // (N, b)
    private readonly List<uint> _sig32 = [];       // (N, K) low 32 bits of each minimum
    private readonly List<bool> _hasShingles = [];

    /// <summary>The signature computer.</summary>
    public MinHasher Hasher { get; } = new(options);
    /// <summary>Documents indexed.</summary>
    public int Count => _hasShingles.Count;
    /// <summary>Bytes per indexed document.</summary>
    public int BytesPerDocument => 8 * Hasher.Options.Bands + 4 * Hasher.NumHashes + 1;

    /// <summary>Computes the signatures of <paramref name="texts"/> on up to <paramref name="threads"/> threads
    /// (0 = all cores) and appends them in order; the result does not depend on the thread count.</summary>
    public void AddBatch(IReadOnlyList<string> texts, int threads = 0)
    {
        int n = texts.Count, K = Hasher.NumHashes, B = Hasher.Options.Bands, R = Hasher.Options.Rows;
        if ((long)(Count + n) * K > Array.MaxLength)
            throw new InvalidOperationException($"minhash index: {Count + n} documents × {K} hashes exceed one index ({Array.MaxLength / K} documents at most); split the input or use fewer hashes");
        var sigs = new ulong[(long)n * K];
        var keys = new ulong[(long)n * B];
        var has = new bool[n];
        ComputeSignatures(Hasher, texts, sigs, has, threads);
        for (int d = 0; d < n; d++)
        {
            var sig = sigs.AsSpan(d * K, K);
            for (int band = 0; band < B; band++)
                keys[d * B + band] = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(sig.Slice(band * R, R)), band);
        }
        _bandKeys.AddRange(keys);
        var low = new uint[sigs.Length];
        for (long i = 0; i < sigs.Length; i++) low[i] = (uint)sigs[i];
        _sig32.AddRange(low);
        _hasShingles.AddRange(has);
    }

    /// <summary>Signatures of many texts in parallel into <paramref name="sigs"/> (n × K); <paramref name="hasShingles"/>[i] tells whether text i had any word.</summary>
    public static void ComputeSignatures(MinHasher hasher, IReadOnlyList<string> texts, ulong[] sigs, bool[] hasShingles, int threads = 0)
    {
        int n = texts.Count, K = hasher.NumHashes;
        int workers = threads > 0 ? threads : Environment.ProcessorCount;
        int chunk = Math.Max(1, Math.Min(64, n / (workers * 4) + 1));
        int chunks = (n + chunk - 1) / chunk;
        if (workers == 1 || chunks == 1)
        {
            var scratch = new SignatureScratch();
            for (int d = 0; d < n; d++) hasShingles[d] = hasher.Signature(texts[d], sigs.AsSpan(d * K, K), scratch) > 0;
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = workers }, () => new SignatureScratch(), (c, _, scratch) =>
        {
            int end = Math.Min(n, (c + 1) * chunk);
            for (int d = c * chunk; d < end; d++) hasShingles[d] = hasher.Signature(texts[d], sigs.AsSpan(d * K, K), scratch) > 0;
            return scratch;
        }, _ => { });
    }

    /// <summary>Estimated Jaccard of documents i and j from the stored signatures.</summary>
    public double Similarity(int i, int j)
    {
        int K = Hasher.NumHashes;
        var all = CollectionsMarshal.AsSpan(_sig32);
        var x = all.Slice(i * K, K);
        var y = all.Slice(j * K, K);
        int eq = 0;
        for (int k = 0; k < K; k++) eq += x[k] == y[k] ? 1 : 0;
        return (double)eq / K;
    }

    /// <summary>Buckets every band, verifies candidates, and returns the clusters.</summary>
    public MinHashClusters Cluster()
    {
        int n = Count, B = Hasher.Options.Bands;
        double t = Hasher.Options.Threshold;
        var uf = new UnionFind(n);
        var keysAll = CollectionsMarshal.AsSpan(_bandKeys);
        var has = CollectionsMarshal.AsSpan(_hasShingles);
        var keys = new ulong[n];
        var docs = new int[n];
        var group = new List<int>();
        long candidates = 0, rejected = 0;
        for (int band = 0; band < B; band++)
        {
            int m = 0;
            for (int d = 0; d < n; d++)
            {
                if (!has[d]) continue;
                keys[m] = keysAll[d * B + band];
                docs[m++] = d;
            }
            Array.Sort(keys, docs, 0, m);
            for (int s = 0; s < m;)
            {
                int e = s + 1;
                while (e < m && keys[e] == keys[s]) e++;
                if (e - s > 1)
                {
                    group.Clear();
                    for (int q = s; q < e; q++) group.Add(docs[q]);
                    group.Sort();
                    int first = group[0];
                    for (int q = 1; q < group.Count; q++)
                    {
                        int d = group[q];
                        candidates++;
                        if (uf.Find(d) == uf.Find(first)) continue;
                        if (t <= 0 || Similarity(first, d) >= t) uf.Union(first, d);
                        else if (Similarity(group[q - 1], d) >= t) uf.Union(group[q - 1], d);
                        else rejected++;
                    }
                }
                s = e;
            }
        }
        var rep = new int[n];
        var sim = new float[n];
        for (int d = 0; d < n; d++)
        {
            rep[d] = uf.Find(d);
            sim[d] = rep[d] == d ? 1f : (float)Similarity(rep[d], d);
        }
        return new MinHashClusters { Representative = rep, Similarity = sim, CandidatePairs = candidates, RejectedPairs = rejected };
    }
}
