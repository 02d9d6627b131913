// MinHash signatures of documents (Broder 1997) as used for near-duplicate detection by datatrove/FineWeb
// and Dolma: text is normalised (lower-cased, split into words at every character that is not a letter
// or digit, so punctuation and whitespace vanish), cut into overlapping shingles of ShingleWords words,
// each shingle hashed to 64 bits (words: FNV-1a over the lower-cased code units in the same pass that finds
// them, then MurmurHash3's fmix64; shingle: Σ word_j·c_j with odd constants c_j, then fmix64), and for each of K = Bands × Rows hash functions h_i(x) = a_i·x + b_i
// (mod 2⁶⁴, a_i odd, so each h_i is a bijection of the well-mixed shingle hashes) the signature keeps
// min_x h_i(x). For two documents with shingle sets A and B, P[sig_i(A) = sig_i(B)] = J(A, B) (Jaccard),
// so the fraction of equal entries estimates J with variance J(1-J)/K.
// Speed: shingle hashes are computed once into a buffer, then each block of 8 hash functions sweeps that
// buffer with four independent Vector512<ulong> accumulators (vpmullq + vpaddq + vpminuq; Vector256 or
// scalar where AVX-512 is missing). Texts shorter than ShingleWords words give one shingle of all their
// words; texts without words give no shingles and an all-ones signature (never paired by LSH).
// Not here: banding and clustering (MinHashLsh.cs).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpLM.Text.Data.Dedup;

/// <summary>Parameters of MinHash-LSH near-duplicate detection.</summary>
/// <param name="Bands">LSH bands b.</param>
/// <param name="Rows">Rows (hash functions) per band r; the signature has b·r entries.</param>
/// <param name="ShingleWords">Words per shingle.</param>
/// <param name="Threshold">A candidate pair from LSH is joined only if its estimated Jaccard (equal signature
/// entries ÷ b·r) is at least this; 0 joins every candidate (pure LSH).</param>
/// <param name="Seed">Seed of the hash functions (the same seed gives the same signatures).</param>
public sealed record MinHashOptions(int Bands = 14, int Rows = 8, int ShingleWords = 5, double Threshold = 0.7, ulong Seed = 0x5EED_0F_4D1_4A5)
{
    /// <summary>Signature length b·r.</summary>
    public int NumHashes => Bands * Rows;

    /// <summary>Probability that a pair of Jaccard similarity <paramref name="s"/> shares at least one band: 1-(1-s^r)^b.</summary>
    public double CandidateProbability(double s) => 1 - Math.Pow(1 - Math.Pow(s, Rows), Bands);

    /// <summary>Throws unless the options are usable.</summary>
    public void Validate()
    {
        if (Bands < 1 || Bands > 512) throw new ArgumentException($"minhash: bands must be in [1, 512], got {Bands}");
        if (Rows < 1 || Rows > 64) throw new ArgumentException($"minhash: rows must be in [1, 64], got {Rows}");
        if (ShingleWords < 1 || ShingleWords > 64) throw new ArgumentException($"minhash: shingle words must be in [1, 64], got {ShingleWords}");
        if (!(Threshold >= 0 && Threshold <= 1)) throw new ArgumentException($"minhash: threshold must be in [0, 1], got {Threshold}");
    }
}

/// <summary>Computes MinHash signatures. Thread-safe (all state is read-only after construction).</summary>
public sealed class MinHasher
{
    private readonly ulong[] _a, _b; // padded to a multiple of 8
    private static readonly ulong[] ShingleMul = MakeShingleMultipliers();

    /// <summary>The options these hash functions were drawn for.</summary>
    public MinHashOptions Options { get; }
    /// <summary>Signature length.</summary>
    public int NumHashes { get; }

    /// <summary>Draws the K hash functions from <see cref="MinHashOptions.Seed"/> (SplitMix64).</summary>
    public MinHasher(MinHashOptions options)
    {
        options.Validate();
        Options = options;
        NumHashes = options.NumHashes;
        int padded = (NumHashes + 7) & ~7;
        _a = new ulong[padded];
        _b = new ulong[padded];
        ulong state = options.Seed;
        for (int i = 0; i < padded; i++)
        {
            _a[i] = SplitMix64(ref state) | 1;
            _b[i] = SplitMix64(ref state);
        }
    }

    /// <summary>Hash function i applied to a shingle hash (the scalar definition the vector code follows).</summary>
    public ulong Permute(int i, ulong x) => unchecked(_a[i] * x + _b[i]);

    /// <summary>SplitMix64 step (Steele, Lea &amp; Flood 2014).</summary>
    public static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The 64-bit hash of each normalised word of <paramref name="text"/>, appended to <paramref name="words"/>:
    /// FNV-1a over the lower-cased UTF-16 code units, finished with the MurmurHash3 fmix64 avalanche and the length.</summary>
    public static void WordHashes(ReadOnlySpan<char> text, List<ulong> words)
    {
        ulong h = FnvOffset;
        int len = 0;
        foreach (char c in text)
        {
            char f;
            if (c < 128)
            {
                f = (char)AsciiFold[c];
                if (f == 0) { if (len > 0) { words.Add(Fmix64(h ^ (ulong)len)); h = FnvOffset; len = 0; } continue; }
            }
            else if (char.IsLetterOrDigit(c)) f = char.ToLowerInvariant(c);
            else { if (len > 0) { words.Add(Fmix64(h ^ (ulong)len)); h = FnvOffset; len = 0; } continue; }
            h = (h ^ f) * FnvPrime;
            len++;
        }
        if (len > 0) words.Add(Fmix64(h ^ (ulong)len));
    }

    private const ulong FnvOffset = 0xCBF29CE484222325UL, FnvPrime = 0x100000001B3UL;

    // ASCII letters and digits → their lower-case form; everything else → 0 (a word separator).
    private static readonly byte[] AsciiFold = MakeAsciiFold();

    private static byte[] MakeAsciiFold()
    {
        var t = new byte[128];
        for (int c = 0; c < 128; c++) t[c] = char.IsAsciiLetterOrDigit((char)c) ? (byte)char.ToLowerInvariant((char)c) : (byte)0;
        return t;
    }

    /// <summary>Shingle hashes of a word-hash sequence: one per window of <paramref name="k"/> words
    /// (one for the whole sequence if shorter, none if empty). Returns the count written to <paramref name="dst"/>.</summary>
    public static int ShingleHashes(ReadOnlySpan<ulong> words, int k, Span<ulong> dst)
    {
        if (words.Length == 0) return 0;
        int w = Math.Min(k, words.Length);
        int n = words.Length - w + 1;
        for (int i = 0; i < n; i++)
        {
            ulong h = (ulong)w;
            for (int j = 0; j < w; j++) h += words[i + j] * ShingleMul[j];
            dst[i] = Fmix64(h);
        }
        return n;
    }

    /// <summary>Number of shingles of a text of <paramref name="words"/> words.</summary>
    public int ShingleCount(int words) => words == 0 ? 0 : words - Math.Min(Options.ShingleWords, words) + 1;

    /// <summary>The set of shingle hashes of <paramref name="text"/> (for exact Jaccard in tests and tools).</summary>
    public HashSet<ulong> ShingleSet(string text)
    {
        var words = new List<ulong>();
        WordHashes(text, words);
        var sh = new ulong[Math.Max(1, words.Count)];
        int n = ShingleHashes(CollectionsMarshal.AsSpan(words), Options.ShingleWords, sh);
        return [.. sh.AsSpan(0, n)];
    }

    /// <summary>Signature of <paramref name="text"/> into <paramref name="sig"/> (length ≥ NumHashes); returns the shingle count.
    /// <paramref name="scratch"/> is reused between calls to avoid allocation.</summary>
    public int Signature(ReadOnlySpan<char> text, Span<ulong> sig, SignatureScratch scratch)
    {
        scratch.Words.Clear();
        WordHashes(text, scratch.Words);
        int nw = scratch.Words.Count;
        if (scratch.Shingles.Length < nw) scratch.Shingles = new ulong[Math.Max(nw, scratch.Shingles.Length * 2)];
        int n = ShingleHashes(CollectionsMarshal.AsSpan(scratch.Words), Options.ShingleWords, scratch.Shingles);
        SignatureOf(scratch.Shingles.AsSpan(0, n), sig);
        return n;
    }

    /// <summary>sig[i] = min over shingles x of a_i·x + b_i (all ones when there are no shingles).</summary>
    public void SignatureOf(ReadOnlySpan<ulong> shingles, Span<ulong> sig)
    {
        int K = NumHashes, blocks = K / 8, i0 = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (int blk = 0; blk < blocks; blk++, i0 += 8)
            {
                var a = Vector512.Create<ulong>(_a.AsSpan(i0, 8));
                var b = Vector512.Create<ulong>(_b.AsSpan(i0, 8));
                Vector512<ulong> m0 = Vector512<ulong>.AllBitsSet, m1 = m0, m2 = m0, m3 = m0;
                int s = 0;
                for (; s + 4 <= shingles.Length; s += 4)
                {
                    m0 = Vector512.Min(m0, a * Vector512.Create(shingles[s]) + b);
                    m1 = Vector512.Min(m1, a * Vector512.Create(shingles[s + 1]) + b);
                    m2 = Vector512.Min(m2, a * Vector512.Create(shingles[s + 2]) + b);
                    m3 = Vector512.Min(m3, a * Vector512.Create(shingles[s + 3]) + b);
                }
                for (; s < shingles.Length; s++) m0 = Vector512.Min(m0, a * Vector512.Create(shingles[s]) + b);
                Vector512.Min(Vector512.Min(m0, m1), Vector512.Min(m2, m3)).CopyTo(sig.Slice(i0, 8));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (int blk = 0; blk < blocks * 2; blk++, i0 += 4)
            {
                var a = Vector256.Create<ulong>(_a.AsSpan(i0, 4));
                var b = Vector256.Create<ulong>(_b.AsSpan(i0, 4));
                Vector256<ulong> m0 = Vector256<ulong>.AllBitsSet, m1 = m0;
                int s = 0;
                for (; s + 2 <= shingles.Length; s += 2)
                {
                    m0 = Vector256.Min(m0, a * Vector256.Create(shingles[s]) + b);
                    m1 = Vector256.Min(m1, a * Vector256.Create(shingles[s + 1]) + b);
                }
                for (; s < shingles.Length; s++) m0 = Vector256.Min(m0, a * Vector256.Create(shingles[s]) + b);
                Vector256.Min(m0, m1).CopyTo(sig.Slice(i0, 4));
            }
        }
        SignatureScalar(shingles, sig, i0, K);
    }

    /// <summary>The scalar definition, for hash functions [from, to): the oracle of the vector paths.</summary>
    public void SignatureScalar(ReadOnlySpan<ulong> shingles, Span<ulong> sig, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            ulong a = _a[i], b = _b[i], m = ulong.MaxValue;
            foreach (ulong x in shingles) m = Math.Min(m, unchecked(a * x + b));
            sig[i] = m;
        }
    }

    /// <summary>Fraction of equal entries of two signatures: the Jaccard estimate.</summary>
    public static double EstimateJaccard(ReadOnlySpan<ulong> x, ReadOnlySpan<ulong> y)
    {
        int eq = 0;
        for (int i = 0; i < x.Length; i++) eq += x[i] == y[i] ? 1 : 0;
        return x.Length == 0 ? 0 : (double)eq / x.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Fmix64(ulong k)
    {
        k ^= k >> 33; k *= 0xFF51AFD7ED558CCDUL;
        k ^= k >> 33; k *= 0xC4CEB93FE1A85EC5UL;
        return k ^ (k >> 33);
    }

    private static ulong[] MakeShingleMultipliers()
    {
        var m = new ulong[64];
        ulong s = 0x51_4E_67_1E;
        for (int i = 0; i < m.Length; i++) m[i] = SplitMix64(ref s) | 1;
        return m;
    }
}

/// <summary>Per-thread buffers for <see cref="MinHasher.Signature"/>.</summary>
public sealed class SignatureScratch
{
    /// <summary>Word hashes of the current text.</summary>
    public List<ulong> Words { get; } = new(1024);
    /// <summary>Shingle hashes of the current text.</summary>
    public ulong[] Shingles { get; set; } = new ulong[1024];
}
