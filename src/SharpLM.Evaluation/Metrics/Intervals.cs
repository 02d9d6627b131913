// Confidence intervals for a proportion (accuracy over n questions): the Wilson score interval
// (Wilson 1927; Brown, Cai & DasGupta 2001 recommend it over the normal one for small n or p near 0/1)
// and the normal (Wald) interval p ± z·sqrt(p(1−p)/n), which is what lm-evaluation-harness's stderr gives.
namespace SharpLM.Evaluation.Metrics;

/// <summary>A two-sided interval.</summary>
public readonly record struct Interval(double Low, double High)
{
    /// <summary>Half the width.</summary>
    public double HalfWidth => (High - Low) / 2;
    /// <summary>True if <paramref name="x"/> lies inside (inclusive).</summary>
    public bool Contains(double x) => x >= Low && x <= High;
}

/// <summary>Intervals for a binomial proportion.</summary>
public static class Intervals
{
    /// <summary>z of a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>Wilson score interval for <paramref name="successes"/> out of <paramref name="n"/>.</summary>
    public static Interval Wilson(long successes, long n, double z = Z95)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "needs at least one trial");
        if (successes < 0 || successes > n) throw new ArgumentOutOfRangeException(nameof(successes), successes, $"must be in [0, {n}]");
        double p = (double)successes / n, z2 = z * z;
        double denom = 1 + z2 / n;
        double center = (p + z2 / (2.0 * n)) / denom;
        double half = z / denom * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
        return new Interval(Math.Max(0, center - half), Math.Min(1, center + half));
    }

    /// <summary>Normal (Wald) interval p ± z·sqrt(p(1−p)/n), clipped to [0, 1].</summary>
    public static Interval Normal(long successes, long n, double z = Z95)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "needs at least one trial");
        double p = (double)successes / n;
        double half = z * Math.Sqrt(p * (1 - p) / n);
        return new Interval(Math.Max(0, p - half), Math.Min(1, p + half));
    }
}
