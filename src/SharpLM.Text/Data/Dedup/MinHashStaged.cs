// MinHash-LSH deduplication as scale-out stages, after datatrove's MinhashDedupSignature / Buckets / Cluster /
// Filter: (1) signatures: each rank signs its documents and writes, per band, a file of (band key, document)
// records sorted by key, plus its 32-bit signatures and ids; (2) buckets: for each band (bands are shared out
// over the ranks) a k-way merge of every rank's sorted band file finds the buckets, and each candidate is
// verified against the estimated Jaccard exactly as MinHashIndex.Cluster does (against the bucket's first
// member, failing that its predecessor) → a pairs file; (3) cluster: union-find over all pairs (root = the
// smallest global document, i.e. rank-major input order) → one removal list per rank; (4) filter: each rank
// drops its removed documents. The partition equals MinHashIndex.Cluster's on the concatenation of the ranks'
// inputs in rank order (verified edges do not depend on the order unions happen in).
// Every file: magic, version, header fields, records, then an XXH3-64 of everything before it, checked on read;
// written under a temporary name and renamed; each finished (stage, rank) task leaves a marker in done/.
// Memory: signatures stage one batch of texts plus, for the rank's documents, 12 bytes per band and 4K + id bytes
// (the band records are sorted before writing); buckets stage 4K bytes per document of the whole corpus (the
// signatures, for verification) plus 12 bytes per document for the band being merged; cluster the same
// signatures plus 4 bytes per document and the pairs. "First in input order" means rank-major: all of rank 0's
// documents, then rank 1's, … (`data minhash` ranks read every world-size-th input file).
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Text.Data.Dedup;

/// <summary>The four MinHash stages over a shared work folder.</summary>
public sealed class MinHashStaged
{
    private const uint SigMagic = 0x3147_4953;   // "SIG1"
    private const uint BandMagic = 0x3144_4E42;  // "BND1"
    private const uint PairMagic = 0x3152_4150;  // "PAR1"
    private const uint RemoveMagic = 0x3156_4D52; // "RMV1"

    private readonly MinHashOptions _o;
    private readonly string _work;
    private readonly int _world;

    /// <summary>Stages in <paramref name="workDir"/> for <paramref name="worldSize"/> ranks.</summary>
    public MinHashStaged(MinHashOptions options, string workDir, int worldSize)
    {
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        _o = options; _work = workDir; _world = worldSize;
        Directory.CreateDirectory(workDir);
    }

    /// <summary>Names of the stages in order.</summary>
    public static readonly string[] StageNames = ["signatures", "buckets", "cluster", "filter"];

    /// <summary>Tasks skipped because their completion marker existed.</summary>
    public int Skipped { get; private set; }

    private string Marker(string stage, int rank) => Path.Combine(_work, "done", $"{stage}_r{rank:D5}.done");
    /// <summary>Whether (stage, rank) has finished.</summary>
    public bool IsDone(string stage, int rank) => File.Exists(Marker(stage, rank));
    private void MarkDone(string stage, int rank, string info) => AtomicFiles.WriteAllText(Marker(stage, rank), info);
    private string SigFile(int rank) => Path.Combine(_work, "signatures", $"r{rank:D5}.sig");
    /// <summary>The sorted band file of (rank, band).</summary>
    public string BandFile(int rank, int band) => Path.Combine(_work, "bands", $"r{rank:D5}_b{band:D3}.bnd");
    private string PairFile(int band) => Path.Combine(_work, "pairs", $"b{band:D3}.pairs");
    private string RemoveFile(int rank) => Path.Combine(_work, "cluster", $"r{rank:D5}.remove");

    private void CheckRank(int rank) => ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)rank, (uint)_world, nameof(rank));

    /// <summary>Stage 1 for one rank: signs <paramref name="docs"/> (this rank's documents, in order).</summary>
    public void Signatures(int rank, IEnumerable<Document> docs, int threads = 0, int batchSize = 4096)
    {
        CheckRank(rank);
        if (IsDone("signatures", rank)) { Skipped++; return; }
        var hasher = new MinHasher(_o);
        int K = hasher.NumHashes, B = _o.Bands, R = _o.Rows;
        var keys = new List<(ulong Key, uint Doc)>[B];
        for (int b = 0; b < B; b++) keys[b] = [];
        using var sig = new ChecksummedWriter(SigFile(rank), SigMagic);
        var ids = new List<string>();
        var texts = new List<string>(batchSize);
        var sig32 = new List<uint>();
        var has32 = new List<bool>();
        void Flush()
        {
            if (texts.Count == 0) return;
            var sigs = new ulong[texts.Count * K];
            var has = new bool[texts.Count];
            MinHashIndex.ComputeSignatures(hasher, texts, sigs, has, threads);
            int baseDoc = has32.Count;
            for (int d = 0; d < texts.Count; d++)
            {
                var s = sigs.AsSpan(d * K, K);
                if (has[d])
                    for (int b = 0; b < B; b++)
                        keys[b].Add((XxHash3.HashToUInt64(MemoryMarshal.AsBytes(s.Slice(b * R, R)), b), (uint)(baseDoc + d)));
                foreach (var v in s) sig32.Add((uint)v);
                has32.Add(has[d]);
            }
            texts.Clear();
        }
        foreach (var d in docs)
        {
            ids.Add(d.Id); texts.Add(d.Text);
            if (texts.Count == batchSize) Flush();
        }
        Flush();
        int n = ids.Count;
        sig.WriteInt(n); sig.WriteInt(K);
        foreach (var id in ids) sig.WriteString(id);
        foreach (var h in has32) sig.WriteByte(h ? (byte)1 : (byte)0);
        sig.WriteBytes(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(sig32)));
        sig.Commit();
        for (int b = 0; b < B; b++)
        {
            var span = CollectionsMarshal.AsSpan(keys[b]);
            span.Sort();
            using var w = new ChecksummedWriter(BandFile(rank, b), BandMagic);
            w.WriteInt(rank); w.WriteInt(b); w.WriteInt(span.Length);
            foreach (var (key, doc) in span) { w.WriteULong(key); w.WriteInt((int)doc); }
            w.Commit();
        }
        MarkDone("signatures", rank, $"{{\"documents\":{n}}}");
    }

    private sealed record Sigs(int[] Offsets, string[][] Ids, bool[] Has, uint[] Sig32, int K)
    {
        public int Total => Offsets[^1];
        public double Similarity(int i, int j)
        {
            var x = Sig32.AsSpan(i * K, K); var y = Sig32.AsSpan(j * K, K);
            int eq = 0;
            for (int k = 0; k < K; k++) eq += x[k] == y[k] ? 1 : 0;
            return (double)eq / K;
        }
    }

    private Sigs LoadSignatures()
    {
        var offsets = new int[_world + 1];
        var ids = new string[_world][];
        var has = new List<bool>();
        var sig = new List<uint>();
        int K = _o.NumHashes;
        for (int r = 0; r < _world; r++)
        {
            if (!IsDone("signatures", r)) throw new InvalidOperationException($"minhash: the signatures of rank {r} are not finished ({Marker("signatures", r)} missing); run the signatures stage for every rank first");
            var rd = ChecksummedReader.Open(SigFile(r), SigMagic);
            int n = rd.ReadInt();
            int k = rd.ReadInt();
            if (k != K) throw new InvalidDataException($"{SigFile(r)}: signatures of {k} hashes, expected {K} (bands × rows); use the same options in every stage");
            ids[r] = new string[n];
            for (int i = 0; i < n; i++) ids[r][i] = rd.ReadString();
            for (int i = 0; i < n; i++) has.Add(rd.ReadByte() != 0);
            var bytes = rd.ReadBytes(checked(n * K * 4));
            sig.AddRange(MemoryMarshal.Cast<byte, uint>(bytes));
            rd.End();
            offsets[r + 1] = offsets[r] + n;
        }
        return new Sigs(offsets, ids, [.. has], [.. sig], K);
    }

    /// <summary>Stage 2 for one rank: the bands b with b mod world-size = rank.</summary>
    public void Buckets(int rank)
    {
        CheckRank(rank);
        if (IsDone("buckets", rank)) { Skipped++; return; }
        var sigs = LoadSignatures();
        double t = _o.Threshold;
        for (int band = rank; band < _o.Bands; band += _world)
        {
            // Read every rank's band file (checksums verified), then merge: records are (key, rank, local) and
            // the global document number offset[rank]+local orders ties exactly as the in-process sort does.
            var heads = new (ulong Key, int Doc)[_world][];
            for (int r = 0; r < _world; r++)
            {
                string f = BandFile(r, band);
                var rd = ChecksummedReader.Open(f, BandMagic);
                int fr = rd.ReadInt(), fb = rd.ReadInt(), n = rd.ReadInt();
                if (fr != r || fb != band) throw new InvalidDataException($"{f}: holds rank {fr} band {fb}, expected rank {r} band {band}");
                var recs = new (ulong, int)[n];
                ulong prev = 0;
                for (int i = 0; i < n; i++)
                {
                    ulong k = rd.ReadULong(); int local = rd.ReadInt();
                    if (i > 0 && k < prev) throw new InvalidDataException($"{f}: record {i} is out of order (band files must be sorted by key)");
                    if ((uint)local >= (uint)(sigs.Offsets[r + 1] - sigs.Offsets[r])) throw new InvalidDataException($"{f}: record {i} names document {local}, but rank {r} has {sigs.Offsets[r + 1] - sigs.Offsets[r]}");
                    prev = k;
                    recs[i] = (k, sigs.Offsets[r] + local);
                }
                rd.End();
                heads[r] = recs;
            }
            var pos = new int[_world];
            var pq = new PriorityQueue<int, (ulong, int)>();
            for (int r = 0; r < _world; r++) if (heads[r].Length > 0) pq.Enqueue(r, heads[r][0]);
            var group = new List<int>();
            using var w = new ChecksummedWriter(PairFile(band), PairMagic);
            var pairs = new List<(int, int)>();
            long candidates = 0, rejected = 0;
            ulong curKey = 0;
            void Close()
            {
                if (group.Count < 2) return;
                group.Sort();
                int first = group[0];
                for (int q = 1; q < group.Count; q++)
                {
                    int d = group[q];
                    candidates++;
                    if (t <= 0 || sigs.Similarity(first, d) >= t) pairs.Add((first, d));
                    else if (sigs.Similarity(group[q - 1], d) >= t) pairs.Add((group[q - 1], d));
                    else rejected++;
                }
            }
            while (pq.TryDequeue(out int r, out var rec))
            {
                if (group.Count > 0 && rec.Item1 != curKey) { Close(); group.Clear(); }
                curKey = rec.Item1;
                group.Add(rec.Item2);
                if (++pos[r] < heads[r].Length) pq.Enqueue(r, heads[r][pos[r]]);
            }
            Close();
            w.WriteInt(band); w.WriteInt(pairs.Count); w.WriteULong((ulong)candidates); w.WriteULong((ulong)rejected);
            foreach (var (a, b) in pairs) { w.WriteInt(a); w.WriteInt(b); }
            w.Commit();
        }
        MarkDone("buckets", rank, "{}");
    }

    /// <summary>Stage 3 (one task, rank 0): union-find over every band's pairs → a removal list per rank.</summary>
    public MinHashClusters Cluster()
    {
        var sigs = LoadSignatures();
        int n = sigs.Total;
        var uf = new UnionFind(n);
        long candidates = 0, rejected = 0;
        for (int band = 0; band < _o.Bands; band++)
        {
            int owner = band % _world;
            if (!IsDone("buckets", owner)) throw new InvalidOperationException($"minhash: band {band} is not matched yet (buckets of rank {owner} not finished)");
            var rd = ChecksummedReader.Open(PairFile(band), PairMagic);
            int fb = rd.ReadInt(), m = rd.ReadInt();
            if (fb != band) throw new InvalidDataException($"{PairFile(band)}: holds band {fb}, expected {band}");
            candidates += (long)rd.ReadULong(); rejected += (long)rd.ReadULong();
            for (int i = 0; i < m; i++)
            {
                int a = rd.ReadInt(), b = rd.ReadInt();
                if ((uint)a >= (uint)n || (uint)b >= (uint)n) throw new InvalidDataException($"{PairFile(band)}: pair {i} names a document beyond the {n} signed");
                uf.Union(a, b);
            }
            rd.End();
        }
        var rep = new int[n];
        var sim = new float[n];
        for (int d = 0; d < n; d++)
        {
            rep[d] = uf.Find(d);
            sim[d] = rep[d] == d ? 1f : (float)sigs.Similarity(rep[d], d);
        }
        var result = new MinHashClusters { Representative = rep, Similarity = sim, CandidatePairs = candidates, RejectedPairs = rejected };
        if (IsDone("cluster", 0)) { Skipped++; return result; }
        for (int r = 0; r < _world; r++)
        {
            using var w = new ChecksummedWriter(RemoveFile(r), RemoveMagic);
            var list = new List<int>();
            for (int d = sigs.Offsets[r]; d < sigs.Offsets[r + 1]; d++) if (rep[d] != d) list.Add(d);
            w.WriteInt(r); w.WriteInt(sigs.Offsets[r + 1] - sigs.Offsets[r]); w.WriteInt(list.Count);
            foreach (int d in list)
            {
                int rr = Array.BinarySearch(sigs.Offsets, rep[d]);
                if (rr < 0) rr = ~rr - 1;
                while (rr + 1 < sigs.Offsets.Length && sigs.Offsets[rr + 1] <= rep[d]) rr++;
                w.WriteInt(d - sigs.Offsets[r]);
                w.WriteString(sigs.Ids[r][d - sigs.Offsets[r]]);
                w.WriteString(sigs.Ids[rr][rep[d] - sigs.Offsets[rr]]);
                w.WriteULong(BitConverter.DoubleToUInt64Bits(sim[d]));
            }
            w.Commit();
        }
        MarkDone("cluster", 0, $"{{\"documents\":{n},\"removed\":{result.DuplicateCount}}}");
        return result;
    }

    /// <summary>Stage 4 for one rank: the filter to apply to this rank's documents, in the order they were signed.</summary>
    public StagedMinHashFilter Filter(int rank)
    {
        CheckRank(rank);
        if (!IsDone("cluster", 0)) throw new InvalidOperationException($"minhash: the cluster stage has not finished ({Marker("cluster", 0)} missing)");
        var rd = ChecksummedReader.Open(RemoveFile(rank), RemoveMagic);
        int fr = rd.ReadInt(), n = rd.ReadInt(), m = rd.ReadInt();
        if (fr != rank) throw new InvalidDataException($"{RemoveFile(rank)}: holds rank {fr}, expected {rank}");
        var removed = new Dictionary<int, (string Id, string Kept, double Sim)>(m);
        for (int i = 0; i < m; i++)
        {
            int local = rd.ReadInt();
            string id = rd.ReadString(), kept = rd.ReadString();
            double s = BitConverter.UInt64BitsToDouble(rd.ReadULong());
            removed[local] = (id, kept, s);
        }
        rd.End();
        return new StagedMinHashFilter(n, removed);
    }

    /// <summary>Marks this rank's filter stage finished (the caller wrote its output).</summary>
    public void FilterDone(int rank, long kept) => MarkDone("filter", rank, $"{{\"kept\":{kept}}}");

    /// <summary>All stages in one process for every rank (world size as constructed), reading rank r's documents from <paramref name="shard"/>(r);
    /// finished tasks are skipped. Returns the clusters over all ranks in rank-major order.</summary>
    public MinHashClusters RunAll(Func<int, IEnumerable<Document>> shard, int threads = 0)
    {
        for (int r = 0; r < _world; r++)
        {
            if (IsDone("signatures", r)) { Skipped++; continue; }
            Signatures(r, shard(r), threads);
        }
        for (int r = 0; r < _world; r++) Buckets(r);
        return Cluster();
    }
}

/// <summary>The filtering stage of <see cref="MinHashStaged"/>: drops the removed documents of one rank.</summary>
public sealed class StagedMinHashFilter(int count, Dictionary<int, (string Id, string Kept, double Sim)> removed) : IDocumentFilter
{
    private int _next;

    /// <inheritdoc/>
    public string Name => "minhash_dedup";

    /// <summary>Documents this rank signed.</summary>
    public int Count => count;

    /// <summary>Documents to remove.</summary>
    public int RemovedCount => removed.Count;

    /// <summary>Local indices of the removed documents with their ids, kept ids and similarities.</summary>
    public IReadOnlyDictionary<int, (string Id, string Kept, double Sim)> Removed => removed;

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        int d = _next++;
        if (d >= count) throw new InvalidOperationException($"minhash filter: more documents than the {count} signed (at id '{doc.Id}')");
        if (!removed.TryGetValue(d, out var r)) return FilterVerdict.Kept;
        if (r.Id != doc.Id) throw new InvalidOperationException($"minhash filter: document {d} has id '{doc.Id}', but '{r.Id}' was signed there; the filter must read the same documents in the same order");
        doc.Metadata["duplicate_of"] = r.Kept;
        doc.Metadata["cluster"] = r.Kept;
        doc.Metadata["similarity"] = Math.Round(r.Sim, 4);
        return FilterVerdict.Drop("near_duplicate");
    }
}

/// <summary>Writes magic, records and a trailing XXH3-64 of everything before it, to a temporary file renamed on <see cref="Commit"/>.</summary>
internal sealed class ChecksummedWriter : IDisposable
{
    private readonly string _path, _tmp;
    private readonly FileStream _fs;
    private readonly BufferedStream _bs;
    private readonly XxHash3 _hash = new();
    private readonly byte[] _b = new byte[8];
    private bool _done;

    public ChecksummedWriter(string path, uint magic)
    {
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _tmp = AtomicFiles.TempName(_path);
        _fs = new FileStream(_tmp, FileMode.CreateNew, FileAccess.Write);
        _bs = new BufferedStream(_fs, 1 << 16);
        WriteInt((int)magic);
    }

    public void WriteBytes(ReadOnlySpan<byte> s) { _hash.Append(s); _bs.Write(s); }
    public void WriteByte(byte v) { _b[0] = v; WriteBytes(_b.AsSpan(0, 1)); }
    public void WriteInt(int v) { BinaryPrimitives.WriteInt32LittleEndian(_b, v); WriteBytes(_b.AsSpan(0, 4)); }
    public void WriteULong(ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(_b, v); WriteBytes(_b.AsSpan(0, 8)); }
    public void WriteString(string s) { var u = Encoding.UTF8.GetBytes(s); WriteInt(u.Length); WriteBytes(u); }

    public void Commit()
    {
        Span<byte> h = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(h, _hash.GetCurrentHashAsUInt64());
        _bs.Write(h);
        _bs.Flush(); _fs.Flush(true);
        _bs.Dispose();
        File.Move(_tmp, _path, overwrite: true);
        _done = true;
    }

    public void Dispose()
    {
        if (_done) return;
        _bs.Dispose();
        try { File.Delete(_tmp); } catch (IOException) { }
    }
}

/// <summary>Reads a file written by <see cref="ChecksummedWriter"/>, after verifying its magic and checksum.</summary>
internal sealed class ChecksummedReader
{
    private readonly string _path;
    private readonly byte[] _data;
    private int _pos;

    private ChecksummedReader(string path, byte[] data) { _path = path; _data = data; }

    public static ChecksummedReader Open(string path, uint magic)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"minhash: {path} is missing", path);
        var data = File.ReadAllBytes(path);
        if (data.Length < 12) throw new InvalidDataException($"{path}: truncated ({data.Length} bytes); delete it and its done/ marker and rerun that stage");
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(data.Length - 8));
        ulong actual = XxHash3.HashToUInt64(data.AsSpan(0, data.Length - 8));
        if (stored != actual) throw new InvalidDataException($"{path}: checksum mismatch (stored {stored:x16}, computed {actual:x16}): the file is corrupt or truncated; delete it and its done/ marker and rerun that stage");
        uint m = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (m != magic) throw new InvalidDataException($"{path}: not a minhash file of the expected kind (magic {m:x8}, expected {magic:x8})");
        return new ChecksummedReader(path, data) { _pos = 4 };
    }

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || _pos + n > _data.Length - 8) throw new InvalidDataException($"{_path}: record runs past the end of the data at byte {_pos}");
        var s = _data.AsSpan(_pos, n); _pos += n; return s;
    }

    public byte ReadByte() => Take(1)[0];
    public int ReadInt() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
    public ulong ReadULong() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
    public string ReadString() => Encoding.UTF8.GetString(Take(ReadInt()));
    public ReadOnlySpan<byte> ReadBytes(int n) => Take(n);

    public void End()
    {
        if (_pos != _data.Length - 8) throw new InvalidDataException($"{_path}: {_data.Length - 8 - _pos} unexpected bytes after the last record");
    }
}
