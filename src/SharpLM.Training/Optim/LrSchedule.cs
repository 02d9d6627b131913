// Learning-rate schedules (step → lr), with steps counted from 0:
//   * Cosine: linear warmup lr·(step+1)/warmup for step < warmup (llm.c's convention, so step 0 is not 0),
//     then cosine decay from lr to the floor over the remaining steps (Loshchilov & Hutter 2017, SGDR,
//     without restarts): floor + ½(lr − floor)(1 + cos(π·(step − warmup)/(total − warmup))).
//   * Warmup-stable-decay (WSD; Hu et al. 2024, MiniCPM §4; nanochat's "warmdown"): the same warmup, a
//     constant lr, then over the last `decayFraction` of the steps a linear ramp to the floor:
//     floor + (lr − floor)·(total − step)/decaySteps.
// Steps at or past `total` get the floor. Not here: the optimizer update itself (a kernel), restarts.
namespace SharpLM.Training.Optim;

/// <summary>A learning-rate schedule.</summary>
public abstract record LrSchedule
{
    /// <summary>Learning rate at optimizer step <paramref name="step"/> (0-based).</summary>
    public abstract double At(long step);
}

/// <summary>Linear warmup then cosine decay to a floor.</summary>
/// <param name="MaxLr">Peak learning rate.</param>
/// <param name="MinLr">Floor reached at <paramref name="TotalSteps"/>.</param>
/// <param name="WarmupSteps">Steps of linear warmup.</param>
/// <param name="TotalSteps">Total optimizer steps.</param>
public sealed record CosineSchedule(double MaxLr, double MinLr, long WarmupSteps, long TotalSteps) : LrSchedule
{
    /// <inheritdoc />
    public override double At(long step)
    {
        Check(MaxLr, MinLr, WarmupSteps, TotalSteps);
        if (step < WarmupSteps) return MaxLr * (step + 1) / WarmupSteps;
        if (step >= TotalSteps) return MinLr;
        double ratio = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return MinLr + 0.5 * (MaxLr - MinLr) * (1.0 + Math.Cos(Math.PI * ratio));
    }

    internal static void Check(double max, double min, long warmup, long total)
    {
        if (!(max > 0) || !(min >= 0) || min > max) throw new ArgumentException($"learning rates must satisfy 0 ≤ min ({min}) ≤ max ({max}), max > 0");
        if (warmup < 0 || total <= 0 || warmup > total) throw new ArgumentException($"steps must satisfy 0 ≤ warmup ({warmup}) ≤ total ({total}), total > 0");
    }
}

/// <summary>Linear warmup, constant, then linear decay to a floor over the last fraction of training.</summary>
/// <param name="MaxLr">Plateau learning rate.</param>
/// <param name="MinLr">Floor reached at <paramref name="TotalSteps"/>.</param>
/// <param name="WarmupSteps">Steps of linear warmup.</param>
/// <param name="TotalSteps">Total optimizer steps.</param>
/// <param name="DecayFraction">Fraction of <paramref name="TotalSteps"/> spent decaying (0..1).</param>
public sealed record WarmupStableDecaySchedule(double MaxLr, double MinLr, long WarmupSteps, long TotalSteps, double DecayFraction) : LrSchedule
{
    /// <summary>Steps in the final decay: round(DecayFraction · TotalSteps).</summary>
    public long DecaySteps => (long)Math.Round(DecayFraction * TotalSteps, MidpointRounding.AwayFromZero);

    /// <inheritdoc />
    public override double At(long step)
    {
        CosineSchedule.Check(MaxLr, MinLr, WarmupSteps, TotalSteps);
        if (!(DecayFraction >= 0 && DecayFraction <= 1)) throw new ArgumentException($"decay fraction must be in [0, 1], got {DecayFraction}");
        if (WarmupSteps + DecaySteps > TotalSteps) throw new ArgumentException($"warmup ({WarmupSteps}) + decay ({DecaySteps}) steps exceed the total ({TotalSteps})");
        if (step < WarmupSteps) return MaxLr * (step + 1) / WarmupSteps;
        if (step >= TotalSteps) return MinLr;
        long decayStart = TotalSteps - DecaySteps;
        if (step < decayStart) return MaxLr;
        return MinLr + (MaxLr - MinLr) * (TotalSteps - step) / DecaySteps;
    }
}
