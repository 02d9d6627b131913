// MinHash and LSH against their published probabilities. The bounds are derived, not tuned:
// - For min-wise independent hash functions each signature entry of two sets agrees with probability
//   J = |A∩B|/|A∪B|, so the count of equal entries is Binomial(K, J): the estimate has mean J and standard
//   deviation σ = sqrt(J(1-J)/K). Single pairs are checked at |est - J| ≤ 5σ + 1/K (two-sided normal tail
//   6·10⁻⁷ per pair); the sum over M pairs of the squared standardised errors has mean M and standard
//   deviation ≈ sqrt(2M) (chi-square), checked within 5 standard deviations — this catches hash functions
//   that are correlated (too much variance) as well as biased.
// - A band of r rows agrees with probability s^r and a pair becomes a candidate with probability
//   P(s) = 1-(1-s^r)^b; over M independent pairs the number of candidates is Binomial(M, P), checked within
//   5 standard deviations.
// All random inputs come from fixed seeds, so the tests are reproducible; the bounds say how unlikely a
// failure would be for a correct implementation under a different seed.
using System.Runtime.InteropServices;
using SharpLM.Text.Data.Dedup;

namespace SharpLM.Text.Tests.Dedup;

public class MinHashTests
{
    // Two shingle sets with |A∩B| = shared and |A\B| = |B\A| = only: J = shared / (shared + 2·only).
    private static (ulong[] A, ulong[] B) SetPair(Random rng, int shared, int only)
    {
        var common = Enumerable.Range(0, shared).Select(_ => (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 63)).ToArray();
        var a = common.Concat(Enumerable.Range(0, only).Select(_ => (ulong)rng.NextInt64())).ToArray();
        var b = common.Concat(Enumerable.Range(0, only).Select(_ => (ulong)rng.NextInt64())).ToArray();
        rng.Shuffle(a);
        rng.Shuffle(b);
        return (a, b);
    }

    [Fact]
    public void VectorSignatureEqualsScalarDefinition()
    {
        foreach (var (bands, rows) in new[] { (14, 8), (3, 5), (1, 1), (20, 6) })
        {
            var h = new MinHasher(new MinHashOptions(bands, rows));
            var rng = new Random(bands * 100 + rows);
            for (int n = 0; n <= 40; n++)
            {
                var sh = Enumerable.Range(0, n).Select(_ => (ulong)rng.NextInt64() * 3).ToArray();
                var fast = new ulong[h.NumHashes];
                var slow = new ulong[h.NumHashes];
                h.SignatureOf(sh, fast);
                h.SignatureScalar(sh, slow, 0, h.NumHashes);
                Assert.Equal(slow, fast);
                for (int i = 0; i < h.NumHashes && n > 0; i++) Assert.Equal(sh.Min(x => h.Permute(i, x)), slow[i]);
            }
        }
    }

    [Fact]
    public void ShinglesFollowNormalisedWordWindows()
    {
        var h = new MinHasher(new MinHashOptions());
        // Case, punctuation and whitespace do not matter; word order does.
        Assert.Equal(h.ShingleSet("The quick brown fox jumps over the lazy dog."), h.ShingleSet("the QUICK, brown fox -- jumps\nover the lazy dog"));
        Assert.NotEqual(h.ShingleSet("the quick brown fox jumps over the lazy dog"), h.ShingleSet("quick the brown fox jumps over the lazy dog"));
        Assert.Equal(5, h.ShingleSet("one two three four five six seven eight nine").Count); // 9 words → 5 windows of 5
        Assert.Single(h.ShingleSet("too short"));
        Assert.Empty(h.ShingleSet(" ... !!! "));
        Assert.Equal(h.ShingleSet("Straße café ÉTÉ"), h.ShingleSet("straße CAFÉ été"));
    }

    [Fact]
    public void EstimateMatchesExactJaccardWithinBinomialBounds()
    {
        var opts = new MinHashOptions(); // 14 × 8 = 112 hash functions
        var h = new MinHasher(opts);
        int K = h.NumHashes;
        var rng = new Random(2024);
        double chi = 0;
        int M = 0;
        var sa = new ulong[K];
        var sb = new ulong[K];
        foreach (var (shared, only) in new[] { (100, 0), (90, 5), (80, 10), (60, 20), (50, 25), (40, 30), (20, 40), (10, 45), (0, 50), (300, 20), (1000, 250) })
        {
            for (int rep = 0; rep < 60; rep++)
            {
                var (a, b) = SetPair(rng, shared, only);
                double j = (double)shared / (shared + 2 * only);
                h.SignatureOf(a, sa);
                h.SignatureOf(b, sb);
                double est = MinHasher.EstimateJaccard(sa, sb);
                double sigma = Math.Sqrt(j * (1 - j) / K);
                Assert.True(Math.Abs(est - j) <= 5 * sigma + 1.0 / K, $"J={j:F3}: estimate {est:F3} is more than 5σ={5 * sigma:F3} away");
                if (j is > 0 and < 1) { chi += (est - j) * (est - j) / (sigma * sigma); M++; }
            }
        }
        double sd = Math.Sqrt(2.0 * M);
        Assert.True(Math.Abs(chi - M) <= 5 * sd, $"sum of squared standardised errors {chi:F0}, expected {M} ± {5 * sd:F0}");
    }

    [Fact]
    public void EstimateTracksExactJaccardOfGeneratedDocuments()
    {
        // Documents rather than raw sets: the exact Jaccard is taken from the documents' own shingle sets.
        var h = new MinHasher(new MinHashOptions(16, 16)); // K = 256 for a tighter check
        var rng = new Random(99);
        var sa = new ulong[h.NumHashes];
        var sb = new ulong[h.NumHashes];
        var scratch = new SignatureScratch();
        for (int t = 0; t < 80; t++)
        {
            var (x, y) = NearDupGen.Pair(rng, 200, rng.NextDouble() * 0.3);
            var A = h.ShingleSet(x);
            var B = h.ShingleSet(y);
            double j = (double)A.Intersect(B).Count() / A.Union(B).Count();
            h.Signature(x, sa, scratch);
            h.Signature(y, sb, scratch);
            double est = MinHasher.EstimateJaccard(sa, sb);
            double sigma = Math.Sqrt(j * (1 - j) / h.NumHashes);
            Assert.True(Math.Abs(est - j) <= 5 * sigma + 1.0 / h.NumHashes, $"J={j:F3} est={est:F3}");
        }
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.5)]
    [InlineData(0.6)]
    [InlineData(0.7)]
    [InlineData(0.8)]
    [InlineData(0.9)]
    public void CandidateRateFollowsTheSCurve(double s)
    {
        var opts = new MinHashOptions();
        var h = new MinHasher(opts);
        int K = h.NumHashes, B = opts.Bands, R = opts.Rows;
        var rng = new Random((int)(s * 1000));
        // J = shared / (shared + 2·only) = s exactly with shared + 2·only = 200.
        int shared = (int)Math.Round(200 * s), only = (200 - shared) / 2;
        double jExact = (double)shared / (shared + 2 * only);
        const int M = 1500;
        int candidates = 0, bandHits = 0;
        var sa = new ulong[K];
        var sb = new ulong[K];
        for (int p = 0; p < M; p++)
        {
            var (a, b) = SetPair(rng, shared, only);
            h.SignatureOf(a, sa);
            h.SignatureOf(b, sb);
            bool any = false;
            for (int band = 0; band < B; band++)
            {
                bool eq = sa.AsSpan(band * R, R).SequenceEqual(sb.AsSpan(band * R, R));
                if (eq) bandHits++;
                any |= eq;
            }
            if (any) candidates++;
        }
        double pc = opts.CandidateProbability(jExact);
        double sd = Math.Sqrt(M * pc * (1 - pc));
        Assert.True(Math.Abs(candidates - M * pc) <= 5 * sd + 1, $"s={jExact}: {candidates}/{M} candidates, expected {M * pc:F1} ± {5 * sd:F1}");
        // Per band: Binomial(M·B, s^r) — band outcomes of one pair are independent given distinct hash functions.
        double pb = Math.Pow(jExact, R);
        double sdb = Math.Sqrt(M * B * pb * (1 - pb));
        Assert.True(Math.Abs(bandHits - M * B * pb) <= 5 * sdb + 1, $"s={jExact}: {bandHits} band hits, expected {M * B * pb:F1} ± {5 * sdb:F1}");
    }

    [Fact]
    public void SCurveFormulaMatchesHandValues()
    {
        var o = new MinHashOptions(); // 1-(1-s^8)^14
        Assert.Equal(1 - Math.Pow(1 - Math.Pow(0.85, 8), 14), o.CandidateProbability(0.85), 12);
        Assert.Equal(0.988366, o.CandidateProbability(0.85), 5); // 0.85^8 = 0.272491; 0.727509^14 = 0.011634
        Assert.Equal(0.053320, o.CandidateProbability(0.5), 5);  // 0.5^8 = 1/256; 1-(255/256)^14
        Assert.Equal(0.0, o.CandidateProbability(0), 12);
        Assert.Equal(1.0, o.CandidateProbability(1), 12);
    }

    [Fact]
    public void NearDuplicateRecallAndFalsePositiveRateOnGeneratedPairs()
    {
        // Issue targets: recall ≥ 0.95 for pairs with Jaccard ≥ 0.85; false positives ≤ 1% below 0.5.
        var (recall, fpr, high, low) = NearDupGen.Evaluate(new MinHashOptions(), pairs: 600, seed: 5);
        Assert.True(high >= 100 && low >= 100, $"too few pairs: {high} high, {low} low");
        Assert.True(recall >= 0.95, $"recall {recall:F3} on {high} pairs with J ≥ 0.85");
        Assert.True(fpr <= 0.01, $"false-positive rate {fpr:F4} on {low} pairs with J < 0.5");
    }

    [Fact]
    public void ClusteringIsIndependentOfThreadCount()
    {
        var rng = new Random(3);
        var texts = new List<string>();
        for (int i = 0; i < 300; i++)
        {
            var (a, b) = NearDupGen.Pair(rng, 120, rng.NextDouble() * 0.02);
            texts.Add(a);
            if (i % 3 == 0) texts.Add(b);
        }
        MinHashClusters Run(int threads)
        {
            var idx = new MinHashIndex(new MinHashOptions());
            for (int s = 0; s < texts.Count; s += 97) idx.AddBatch(texts.GetRange(s, Math.Min(97, texts.Count - s)), threads);
            return idx.Cluster();
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Representative, two.Representative);
        Assert.Equal(one.Similarity, two.Similarity);
        Assert.True(one.DuplicateCount >= 90, $"{one.DuplicateCount} duplicates");
        for (int i = 0; i < one.Representative.Length; i++) Assert.True(one.Representative[i] <= i); // the first member is kept
    }

    [Fact]
    public void ClusterChainsJoinTransitivelyAndKeepTheFirst()
    {
        // Three variants of one text plus an unrelated one: all variants join the cluster of document 0.
        var rng = new Random(8);
        var baseText = NearDupGen.Words(rng, 150);
        var v1 = NearDupGen.Mutate(rng, baseText, 0.01);
        var v2 = NearDupGen.Mutate(rng, v1, 0.01);
        var idx = new MinHashIndex(new MinHashOptions());
        idx.AddBatch([string.Join(' ', NearDupGen.Words(rng, 150)), string.Join(' ', baseText), string.Join(' ', v1), string.Join(' ', v2), ""]);
        var c = idx.Cluster();
        Assert.Equal([0, 1, 1, 1, 4], c.Representative);
        Assert.True(c.Similarity[2] >= 0.7f);
    }
    [Fact]
    public void TwoPassFilterDropsLaterMembersAndChecksTheOrder()
    {
        var rng = new Random(12);
        var (a, b) = NearDupGen.Pair(rng, 200, 0.005);
        var docs = new[] { ("x", string.Join(' ', NearDupGen.Words(rng, 100))), ("a", a), ("b", b) }
            .Select(t => new SharpLM.Text.Data.Document { Id = t.Item1, Text = t.Item2 }).ToList();
        var f = MinHashDedup.Prepare(docs, new MinHashOptions());
        var verdicts = docs.Select(f.Apply).ToList();
        Assert.Equal([true, true, false], verdicts.Select(v => v.Keep).ToArray());
        Assert.Equal("a", docs[2].Metadata["cluster"]);
        var (kept, removed) = f.ClusterMembers().Single();
        Assert.Equal("a", kept);
        Assert.Equal(["b"], removed);

        var g = MinHashDedup.Prepare(docs, new MinHashOptions());
        var e = Assert.Throws<InvalidOperationException>(() => g.Apply(docs[1]));
        Assert.Contains("same order", e.Message);
    }
}

/// <summary>Generates documents and near-duplicate pairs whose exact shingle Jaccard is then measured.</summary>
internal static class NearDupGen
{
    private static readonly string[] Syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "da", "gu", "fi", "zo", "be", "xa", "we"];

    public static string[] Words(Random rng, int n) =>
        Enumerable.Range(0, n).Select(_ => string.Concat(Enumerable.Range(0, rng.Next(1, 4)).Select(_ => Syllables[rng.Next(Syllables.Length)]))).ToArray();

    /// <summary>Replaces, deletes or inserts a word at a fraction of the positions.</summary>
    public static string[] Mutate(Random rng, string[] words, double rate)
    {
        var list = new List<string>(words.Length + 8);
        foreach (var w in words)
        {
            if (rng.NextDouble() >= rate) { list.Add(w); continue; }
            switch (rng.Next(3))
            {
                case 0: list.Add(Words(rng, 1)[0]); break;
                case 1: break;
                default: list.Add(w); list.Add(Words(rng, 1)[0]); break;
            }
        }
        return [.. list];
    }

    public static (string A, string B) Pair(Random rng, int words, double rate)
    {
        var a = Words(rng, words);
        return (string.Join(' ', a), string.Join(' ', Mutate(rng, a, rate)));
    }

    /// <summary>Indexes <paramref name="pairs"/> pairs of mutated documents (mutation rates spread so that Jaccard
    /// covers 0…1), clusters them, and measures recall on pairs with exact J ≥ 0.85 and the false-positive
    /// rate on pairs with J &lt; 0.5.</summary>
    public static (double Recall, double Fpr, int High, int Low) Evaluate(MinHashOptions o, int pairs, int seed)
    {
        var rng = new Random(seed);
        var h = new MinHasher(o);
        var texts = new List<string>();
        var jac = new List<double>();
        for (int p = 0; p < pairs; p++)
        {
            // Mutation rates: a third near-identical, a third in the middle, a third far apart.
            double rate = (p % 3) switch { 0 => rng.NextDouble() * 0.03, 1 => 0.03 + rng.NextDouble() * 0.1, _ => 0.12 + rng.NextDouble() * 0.3 };
            var (a, b) = Pair(rng, 150 + rng.Next(300), rate);
            var A = h.ShingleSet(a);
            var B = h.ShingleSet(b);
            jac.Add((double)A.Intersect(B).Count() / A.Union(B).Count());
            texts.Add(a);
            texts.Add(b);
        }
        var idx = new MinHashIndex(o);
        idx.AddBatch(texts);
        var c = idx.Cluster();
        int high = 0, found = 0, low = 0, fp = 0;
        for (int p = 0; p < pairs; p++)
        {
            bool same = c.Representative[2 * p] == c.Representative[2 * p + 1];
            if (jac[p] >= 0.85) { high++; if (same) found++; }
            else if (jac[p] < 0.5) { low++; if (same) fp++; }
        }
        return (high == 0 ? 0 : (double)found / high, low == 0 ? 0 : (double)fp / low, high, low);
    }
}
