// Opt-in wall-clock breakdown of TransformerModel steps by kind of work (GEMMs, attention, norms, …), for
// `sharplm bench train` and for finding what to optimise. Off by default; when off each mark is one
// branch on a static flag. Marks attribute the time since the previous mark to the phase named, so a
// phase's figure is the sum of the kernels that ended with that mark.
using System.Diagnostics;

namespace SharpLM.Models.Modeling;

/// <summary>Kinds of work a step is divided into.</summary>
public enum StepPhase
{
    /// <summary>Token/position embedding, forward and backward.</summary>
    Embedding,
    /// <summary>Projection GEMMs of the forward pass (attention and MLP).</summary>
    GemmForward,
    /// <summary>Projection GEMMs of the backward pass (input and weight gradients).</summary>
    GemmBackward,
    /// <summary>Attention forward.</summary>
    AttentionForward,
    /// <summary>Attention backward.</summary>
    AttentionBackward,
    /// <summary>LayerNorm / RMSNorm (incl. QK-norm), both directions.</summary>
    Norms,
    /// <summary>GELU / SwiGLU, both directions.</summary>
    Activations,
    /// <summary>LM head GEMMs (logits, and the input and weight gradients), both directions.</summary>
    LmHead,
    /// <summary>Softmax cross-entropy over the logits and its gradient (with the soft-cap when set).</summary>
    CrossEntropy,
    /// <summary>Mixture-of-experts routing, gather and scatter.</summary>
    Routing,
    /// <summary>Everything else: bias and residual initialisation, bias gradients, zeroing, RoPE.</summary>
    Other,
}

/// <summary>Accumulated time per <see cref="StepPhase"/> across steps while <see cref="Enabled"/>.</summary>
public static class StepProfile
{
    private static readonly long[] Ticks = new long[Enum.GetValues<StepPhase>().Length];
    private static long _last;

    /// <summary>Whether marks are recorded (set by a benchmark; off for training).</summary>
    public static bool Enabled { get; set; }

    /// <summary>Clears the totals.</summary>
    public static void Reset() { Array.Clear(Ticks); _last = Stopwatch.GetTimestamp(); }

    /// <summary>Total seconds attributed to <paramref name="phase"/>.</summary>
    public static double Seconds(StepPhase phase) => Ticks[(int)phase] / (double)Stopwatch.Frequency;

    internal static void Start()
    {
        if (Enabled) _last = Stopwatch.GetTimestamp();
    }

    internal static void Mark(StepPhase phase)
    {
        if (!Enabled) return;
        long now = Stopwatch.GetTimestamp();
        Ticks[(int)phase] += now - _last;
        _last = now;
    }
}
