// A Variable is a value in the autograd graph: an f32 Tensor `Data`, a lazily allocated gradient
// `Grad` of the same shape, and whether gradients flow into it. Leaves (parameters, inputs) are
// created by the caller and own their Grad across steps; non-leaves are outputs of ops, their Data and
// Grad live in the Tape's arena and are released by Tape.Reset (touching them after that throws).
// What it is not: a tensor library — arithmetic lives in Ops; Variable only routes Backward to its tape.
namespace SharpLM.Tensors.Autograd;

/// <summary>An f32 value in the autograd graph with an optional gradient.</summary>
public sealed class Variable : IDisposable
{
    private readonly Tensor _data;
    private readonly Tape? _tape;        // null for leaves
    private readonly int _generation;    // tape generation the activation belongs to
    internal readonly int Segment;       // tape segment (forward pass) that produced it
    private Tensor? _grad;

    private Variable(Tensor data, bool requiresGrad, Tape? tape, int generation, int segment)
    {
        _data = data; RequiresGrad = requiresGrad; _tape = tape; _generation = generation; Segment = segment;
    }

    internal static Variable NonLeaf(Tensor data, bool requiresGrad, Tape tape)
        => new(data, requiresGrad, tape, tape.Generation, tape.Segment);

    /// <summary>A trainable leaf: gradients accumulate into <see cref="Grad"/> until <see cref="ZeroGrad"/>. The caller keeps owning <paramref name="data"/>.</summary>
    public static Variable Parameter(Tensor data) => new(CheckLeaf(data), true, null, 0, 0);

    /// <summary>A leaf that receives no gradient (inputs, targets, frozen weights). The caller keeps owning <paramref name="data"/>.</summary>
    public static Variable Constant(Tensor data) => new(CheckLeaf(data), false, null, 0, 0);

    /// <summary>The value. Throws if this is an activation released by <see cref="Tape.Reset"/>.</summary>
    public Tensor Data
    {
        get { CheckAlive(); return _data; }
    }

    /// <summary>The accumulated gradient, or null if no gradient has reached this variable yet.</summary>
    public Tensor? Grad
    {
        get { CheckAlive(); return _grad; }
    }

    /// <summary>True if gradients flow into this variable.</summary>
    public bool RequiresGrad { get; }

    /// <summary>True for variables created by the caller rather than by an op.</summary>
    public bool IsLeaf => _tape is null;

    /// <summary>Dimensions of <see cref="Data"/>.</summary>
    public ReadOnlySpan<int> Shape => Data.Shape;

    /// <summary>Number of elements.</summary>
    public long Length => Data.Length;

    /// <summary>The single element of a one-element variable (a loss).</summary>
    public unsafe float Item()
    {
        if (Data.Length != 1) throw new InvalidOperationException($"Item() needs a one-element variable, got shape {Tensor.Format(Data.Shape)}");
        return *Data.Data;
    }

    /// <summary>A constant sharing this variable's data: gradients stop here (PPO old log-probs, targets).</summary>
    public Variable Detach() => new(_data, false, _tape, _generation, Segment);

    /// <summary>Clears the accumulated gradient to zero (keeps the buffer).</summary>
    public void ZeroGrad()
    {
        if (_grad is not null) _grad.AsSpan<float>().Clear();
    }

    /// <summary>Back-propagates from this one-element loss, seeding dloss = 1; gradients accumulate into every leaf that requires them.</summary>
    public void Backward()
    {
        if (Data.Length != 1) throw new InvalidOperationException($"Backward() without a seed needs a one-element loss, got shape {Tensor.Format(Data.Shape)}; pass the output gradient");
        BackwardCore(null);
    }

    /// <summary>Back-propagates from this variable with the given output gradient (same shape as <see cref="Data"/>).</summary>
    public void Backward(Tensor gradient)
    {
        Tensor.CheckSameShape(Data, gradient, "Backward gradient");
        BackwardCore(gradient);
    }

    private void BackwardCore(Tensor? seed)
    {
        if (!RequiresGrad) throw new InvalidOperationException("Backward on a variable that does not require grad (computed under NoGrad, or from constants only)");
        if (_tape is null) throw new InvalidOperationException("Backward on a leaf variable: nothing to propagate");
        CheckAlive();
        _tape.Backward(this, seed);
    }

    /// <summary>Frees the gradient of a leaf (non-leaf gradients belong to the tape's arena).</summary>
    public void Dispose()
    {
        if (IsLeaf) { _grad?.Dispose(); _grad = null; }
    }

    /// <summary>Element-wise a + b (same shapes).</summary>
    public static Variable operator +(Variable a, Variable b) => Ops.Add(a, b);
    /// <summary>Element-wise a − b (same shapes).</summary>
    public static Variable operator -(Variable a, Variable b) => Ops.Sub(a, b);
    /// <summary>Element-wise a ⊙ b (same shapes).</summary>
    public static Variable operator *(Variable a, Variable b) => Ops.Mul(a, b);
    /// <summary>Element-wise a / b (same shapes).</summary>
    public static Variable operator /(Variable a, Variable b) => Ops.Div(a, b);
    /// <summary>a + c.</summary>
    public static Variable operator +(Variable a, float c) => Ops.AddScalar(a, c);
    /// <summary>c + a.</summary>
    public static Variable operator +(float c, Variable a) => Ops.AddScalar(a, c);
    /// <summary>a − c.</summary>
    public static Variable operator -(Variable a, float c) => Ops.AddScalar(a, -c);
    /// <summary>c − a.</summary>
    public static Variable operator -(float c, Variable a) => Ops.AddScalar(Ops.Neg(a), c);
    /// <summary>c · a.</summary>
    public static Variable operator *(Variable a, float c) => Ops.MulScalar(a, c);
    /// <summary>c · a.</summary>
    public static Variable operator *(float c, Variable a) => Ops.MulScalar(a, c);
    /// <summary>a / c.</summary>
    public static Variable operator /(Variable a, float c) => Ops.MulScalar(a, 1f / c);
    /// <summary>−a.</summary>
    public static Variable operator -(Variable a) => Ops.Neg(a);

    /// <inheritdoc />
    public override string ToString() => $"Variable({Tensor.Format(_data.Shape)}{(RequiresGrad ? ", requires grad" : "")}{(IsLeaf ? ", leaf" : "")})";

    internal Tensor RawData => _data;
    internal Tensor? RawGrad => _grad;
    internal Tape? OwnerTape => _tape;

    /// <summary>The gradient buffer, allocated zeroed on first use (leaves: owned; non-leaves: from the arena).</summary>
    internal Tensor EnsureGrad()
    {
        if (_grad is null)
        {
            _grad = _tape is null ? Tensor.Zeros(DType.F32, _data.Shape.ToArray()) : _tape.Allocate(_data.Shape, zero: true);
        }
        return _grad;
    }

    private void CheckAlive()
    {
        if (_tape is not null && _tape.Generation != _generation)
            throw new ObjectDisposedException(nameof(Variable), "this activation was released by Tape.Reset(); its memory belongs to a later step");
    }

    private static Tensor CheckLeaf(Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.DType != DType.F32) throw new ArgumentException($"autograd variables are f32; got {DTypeInfo.Name(data.DType)} tensor of shape {Tensor.Format(data.Shape)}");
        if (!data.IsContiguous) throw new ArgumentException($"autograd variables need contiguous data; tensor of shape {Tensor.Format(data.Shape)} is a strided view: call Contiguous() first");
        return data;
    }
}
