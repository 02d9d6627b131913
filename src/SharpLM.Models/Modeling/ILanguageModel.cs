// The contract between a decoder-only model and everything that drives it (the pretraining loop,
// evaluation, post-training). Tokens come as rows of seq+1 ids: inputs are ids [0, seq) of a row and
// targets ids [1, seq]; a target equal to IgnoreIndex is not counted. Parameters carry Hugging Face
// names so checkpoints, weight-decay groups and converters agree on one vocabulary.
using SharpLM.Models.Config;
using SharpLM.Tensors;

namespace SharpLM.Models.Modeling;

/// <summary>One trainable tensor: its Hugging Face name, f32 master value and a gradient of the same shape.</summary>
public sealed class Parameter(string name, Tensor value, Tensor grad)
{
    /// <summary>Hugging Face name, e.g. <c>model.layers.0.self_attn.q_proj.weight</c> or <c>h.0.attn.c_attn.weight</c>.</summary>
    public string Name { get; } = name;

    /// <summary>The f32 master weights.</summary>
    public Tensor Value { get; } = value;

    /// <summary>Accumulated gradient (same shape as <see cref="Value"/>); zeroed by the caller between optimizer steps.</summary>
    public Tensor Grad { get; } = grad;
}

/// <summary>A causal language model trained by next-token cross-entropy.</summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>Target id that is not counted in the loss.</summary>
    public const int IgnoreIndex = -1;

    /// <summary>The architecture.</summary>
    ModelConfig Config { get; }

    /// <summary>Every trainable tensor, in checkpoint order.</summary>
    IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>
    /// Forward and backward on one micro-batch of <paramref name="batch"/> rows of <paramref name="seq"/>+1 ids.
    /// Adds gradScale · ∂(mean loss)/∂θ into every <see cref="Parameter.Grad"/> and returns the mean loss
    /// over counted targets (the auxiliary losses, e.g. MoE load balancing, are included in the gradient, not in the value).
    /// </summary>
    float ForwardBackward(ReadOnlySpan<int> tokens, int batch, int seq, float gradScale);

    /// <summary>Mean loss over counted targets without touching gradients.</summary>
    float Loss(ReadOnlySpan<int> tokens, int batch, int seq);

    /// <summary>Logits (batch, seq, Config.VocabSize) of <paramref name="batch"/> rows of <paramref name="seq"/> input ids (no targets).</summary>
    void Logits(ReadOnlySpan<int> inputs, int batch, int seq, Span<float> logits);

    /// <summary>
    /// Declares every gradient zero without writing memory, if the model supports it (the optimizer then skips
    /// clearing them): the next <see cref="ForwardBackward"/> writes its gradients instead of adding to them.
    /// Gradients read before that backward hold stale values. Returns false (and does nothing) when the
    /// caller must zero the gradients itself.
    /// </summary>
    bool DiscardGradients() => false;
}
