// Deterministic random numbers for the synthetic world: SplitMix64 (Steele, Lea, Flood 2014), the
// generator java.util.SplittableRandom uses. Chosen over System.Random so the same seed gives the same
// crawl on every .NET version; every page draws from its own stream, derived from (seed, page index).
namespace SharpLM.Text.Data.Synthetic;

/// <summary>A SplitMix64 stream: small, fast, and identical across platforms and runtimes.</summary>
public struct SynthRng
{
    private ulong _state;

    /// <summary>Starts a stream at <paramref name="seed"/>.</summary>
    public SynthRng(ulong seed) => _state = seed;

    /// <summary>A stream for one purpose (<paramref name="salt"/>) and one index under a run seed.</summary>
    public static SynthRng For(long seed, ulong salt, long index) =>
        new(Mix(Mix((ulong)seed ^ 0x5851F42D4C957F2DUL) ^ Mix(salt + 0x9E3779B97F4A7C15UL * (ulong)(index + 1))));

    /// <summary>The SplitMix64 finaliser: a bijective 64-bit mix.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextULong()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform integer in [0, <paramref name="n"/>).</summary>
    public int Next(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "must be positive");
        return (int)((NextULong() >> 33) % (ulong)n);
    }

    /// <summary>Uniform integer in [<paramref name="lo"/>, <paramref name="hi"/>].</summary>
    public int Range(int lo, int hi) => lo + Next(hi - lo + 1);

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => NextDouble() < p;

    /// <summary>One element, uniformly.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary><paramref name="k"/> distinct elements in random order.</summary>
    public List<T> Sample<T>(IReadOnlyList<T> items, int k)
    {
        var copy = new List<T>(items);
        Shuffle(copy);
        if (k < copy.Count) copy.RemoveRange(k, copy.Count - k);
        return copy;
    }
}
