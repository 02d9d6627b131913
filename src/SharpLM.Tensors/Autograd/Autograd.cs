// Per-thread autograd state: whether ops record (NoGrad scopes turn recording off for inference) and
// which tape ops record on (a per-thread default, or one set with UseTape). Per-thread so two
// inference threads never share a tape.
namespace SharpLM.Tensors.Autograd;

/// <summary>Grad-mode and current-tape switches for the calling thread.</summary>
public static class Autograd
{
    [ThreadStatic] private static Tape? _tape;
    [ThreadStatic] private static int _noGrad;

    /// <summary>The tape ops on this thread record on (and allocate activations from).</summary>
    public static Tape CurrentTape => _tape ??= new Tape();

    /// <summary>False inside a <see cref="NoGrad"/> scope.</summary>
    public static bool IsGradEnabled => _noGrad == 0;

    /// <summary>Within the returned scope ops record nothing and allocate no gradients (inference).</summary>
    public static NoGradScope NoGrad()
    {
        _noGrad++;
        return new NoGradScope(true);
    }

    /// <summary>Makes <paramref name="tape"/> the current tape until the returned scope is disposed.</summary>
    public static TapeScope UseTape(Tape tape)
    {
        ArgumentNullException.ThrowIfNull(tape);
        var prev = _tape;
        _tape = tape;
        return new TapeScope(prev);
    }

    /// <summary>Restores grad mode when disposed.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        private readonly bool _active;
        internal NoGradScope(bool active) => _active = active;
        /// <inheritdoc />
        public void Dispose() { if (_active) _noGrad--; }
    }

    /// <summary>Restores the previous current tape when disposed.</summary>
    public readonly struct TapeScope : IDisposable
    {
        private readonly Tape? _prev;
        internal TapeScope(Tape? prev) => _prev = prev;
        /// <inheritdoc />
        public void Dispose() => _tape = _prev;
    }

    internal static bool Tracks(Variable a) => _noGrad == 0 && a.RequiresGrad;
    internal static bool Tracks(Variable a, Variable b) => _noGrad == 0 && (a.RequiresGrad || b.RequiresGrad);
}
