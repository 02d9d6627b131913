// The tape: ops append a node (inputs, output, whatever backward needs saved) as they run forward;
// Backward seeds the loss gradient and walks the nodes in reverse, each node ACCUMULATING (+=) into its
// inputs' gradients (llm.c style). Nodes whose output received no gradient are skipped.
//
// Memory: every op output and every non-leaf gradient is rented from the tape's arena — exact-size
// buckets of 64-byte-aligned native buffers. Reset() hands them all back, so a training step with the
// same shapes as the previous one allocates no native memory. A Backward consumes the recorded nodes
// (the next micro-batch's forward starts a new segment) but keeps the activations until Reset, so
// gradients of leaves accumulate across micro-batches until the caller zeroes them.
// What it is not: a graph optimiser or a scheduler; nodes run in recording order, one after another.
namespace SharpLM.Tensors.Autograd;

/// <summary>A record of differentiable ops and the arena their activations live in.</summary>
public sealed class Tape : IDisposable
{
    private readonly List<Node> _nodes = new();
    private readonly Dictionary<long, Stack<Tensor>> _free = new();
    private readonly List<Tensor> _inUse = new();

    /// <summary>Bumped by <see cref="Reset"/>; activations of an older generation are dead.</summary>
    internal int Generation { get; private set; }
    /// <summary>Bumped by each Backward; variables of an older segment can no longer be back-propagated.</summary>
    internal int Segment { get; private set; }

    /// <summary>Number of nodes recorded since the last Backward or Reset.</summary>
    public int Count => _nodes.Count;

    /// <summary>Native buffers created by this arena so far (recycled ones are not counted again).</summary>
    public int BuffersCreated { get; private set; }

    /// <summary>Bytes held by the arena (in use and free).</summary>
    public long ArenaBytes { get; private set; }

    /// <summary>Releases every activation and non-leaf gradient back to the arena and forgets the recorded nodes. Leaf gradients are untouched.</summary>
    public void Reset()
    {
        _nodes.Clear();
        foreach (var t in _inUse)
        {
            if (!_free.TryGetValue(t.Length, out var stack)) _free[t.Length] = stack = new Stack<Tensor>();
            stack.Push(t);
        }
        _inUse.Clear();
        Generation++;
        Segment++;
    }

    /// <summary>Frees all arena memory.</summary>
    public void Dispose()
    {
        _nodes.Clear();
        foreach (var t in _inUse) t.Dispose();
        foreach (var s in _free.Values) foreach (var t in s) t.Dispose();
        _inUse.Clear(); _free.Clear();
        ArenaBytes = 0;
        Generation++;
    }

    /// <summary>A dense f32 tensor of <paramref name="shape"/> from the arena, zeroed if asked (otherwise contents are stale).</summary>
    internal Tensor Allocate(ReadOnlySpan<int> shape, bool zero)
    {
        long n = 1;
        foreach (int d in shape) n = checked(n * d);
        Tensor owner;
        if (_free.TryGetValue(n, out var stack) && stack.Count > 0)
        {
            owner = stack.Pop();
            if (zero) owner.AsSpan<float>().Clear();
        }
        else
        {
            owner = Tensor.Zeros(DType.F32, checked((int)n));
            BuffersCreated++;
            ArenaBytes += n * sizeof(float);
        }
        _inUse.Add(owner);
        return owner.Reshape(shape.ToArray());
    }

    /// <summary>A new op output on this tape (records nothing by itself).</summary>
    internal Variable NewOutput(ReadOnlySpan<int> shape, bool requiresGrad) => Variable.NonLeaf(Allocate(shape, zero: false), requiresGrad, this);

    /// <summary>Appends a node; every non-leaf input that requires grad must belong to this tape's current segment.</summary>
    internal void Record(Node node)
    {
        _nodes.Add(node);
    }

    /// <summary>Checks an input can be differentiated through this tape.</summary>
    internal void CheckInput(Variable v)
    {
        if (!v.RequiresGrad || v.IsLeaf) return;
        if (!ReferenceEquals(v.OwnerTape, this))
            throw new InvalidOperationException("an input requiring grad was produced on another tape; one graph must be recorded on one tape");
        if (v.Segment != Segment)
            throw new InvalidOperationException("an input requiring grad comes from a forward pass that was already back-propagated; Detach() it or recompute it");
    }

    internal void Backward(Variable root, Tensor? seed)
    {
        if (root.Segment != Segment || !ReferenceEquals(root.OwnerTape, this))
            throw new InvalidOperationException("this graph was already back-propagated (Backward consumes the tape); run the forward pass again");
        var g = root.EnsureGrad();
        if (seed is null) g.AsSpan<float>()[0] += 1f;
        else
        {
            using var s = seed.Contiguous();
            Pointwise.AddInto(s.AsSpan<float>(), g.AsSpan<float>());
        }
        for (int i = _nodes.Count - 1; i >= 0; i--)
        {
            var node = _nodes[i];
            if (node.Output.RawGrad is null) continue; // nothing flowed into this node
            node.Backward();
        }
        _nodes.Clear();
        Segment++;
    }
}

/// <summary>One recorded op: holds its inputs, output and saved tensors; Backward accumulates into input grads.</summary>
internal abstract unsafe class Node
{
    /// <summary>The upstream gradient d(loss)/d(output) (dense, output-shaped).</summary>
    protected float* Dy => Output.RawGrad!.Data;

    /// <summary>The op's output; its Grad is the upstream gradient when Backward runs.</summary>
    public Variable Output = null!;

    /// <summary>Accumulates d(loss)/d(input) into each input that requires grad.</summary>
    public abstract void Backward();
}
