// Which parameters get weight decay (decoupled, AdamW: Loshchilov & Hutter 2019). The rule, as in GPT-2
// reproductions (nanoGPT `configure_optimizers` decays only tensors of rank ≥ 2; minGPT also exempts
// embeddings and norms by module type): no decay for tensors of rank < 2 (biases, norm gains) and for
// tensors named like embeddings or norms whatever their rank; a separate (untied) lm_head is a linear
// layer and is decayed. Names are Hugging Face's (transformer.wte, model.embed_tokens, ln_1, input_layernorm…).
// Not here: per-group learning rates (Muon / µP) — add them here when the optimizer needs them.
namespace SharpLM.Training.Optim;

/// <summary>Splits parameters into decayed and not-decayed groups.</summary>
public static class ParamGroups
{
    private static readonly string[] NoDecayParts = ["wte", "wpe", "embed_tokens", "embed_positions", "embeddings", "ln_", "norm", "bias"];

    /// <summary>True if the parameter called <paramref name="name"/> with <paramref name="rank"/> dimensions gets weight decay.</summary>
    public static bool Decays(string name, int rank)
    {
        if (rank < 2) return false;
        var parts = name.Split('.');
        foreach (var part in parts)
            foreach (var p in NoDecayParts)
                if (part.Contains(p, StringComparison.OrdinalIgnoreCase)) return false;
        return true;
    }

    /// <summary>Names split into (decay, noDecay), keeping input order.</summary>
    public static (List<string> Decay, List<string> NoDecay) Split(IEnumerable<(string Name, int Rank)> parameters)
    {
        var d = new List<string>();
        var nd = new List<string>();
        foreach (var (name, rank) in parameters) (Decays(name, rank) ? d : nd).Add(name);
        return (d, nd);
    }
}
