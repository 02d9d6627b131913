// A test double for ILanguageModel whose next-token distribution depends only on the current input
// token: logits[b, t, :] = table[inputs[b, t], :]. Its log-likelihoods can be worked out by hand.
using SharpLM.Models.Config;
using SharpLM.Models.Modeling;

namespace SharpLM.Evaluation.Tests;

internal sealed class BigramModel(float[,] table, int maxPositions = 16) : ILanguageModel
{
    private readonly int _v = table.GetLength(1);

    public ModelConfig Config => new()
    {
        Style = ModelStyle.Llama,
        NumLayers = 1,
        NumHeads = 1,
        NumKvHeads = 1,
        HiddenSize = 4,
        IntermediateSize = 4,
        MaxPositions = maxPositions,
        VocabSize = _v,
        PaddedVocabSize = _v,
    };

    public IReadOnlyList<Parameter> Parameters => [];

    public int LogitsCalls { get; private set; }

    public float ForwardBackward(ReadOnlySpan<int> tokens, int batch, int seq, float gradScale) => throw new NotSupportedException();

    public float Loss(ReadOnlySpan<int> tokens, int batch, int seq) => throw new NotSupportedException();

    public void Logits(ReadOnlySpan<int> inputs, int batch, int seq, Span<float> logits)
    {
        Assert.True(seq <= maxPositions, $"seq {seq} exceeds the context {maxPositions}");
        Assert.Equal(batch * seq, inputs.Length);
        LogitsCalls++;
        for (int i = 0; i < batch * seq; i++)
            for (int v = 0; v < _v; v++) logits[i * _v + v] = table[inputs[i], v];
    }

    public void Dispose() { }

    // Rows give p = [1/4, 1/2, 1/4], [1/4, 1/4, 1/2], [1/2, 1/4, 1/4].
    public static BigramModel Simple(int maxPositions = 16)
    {
        float l2 = MathF.Log(2);
        return new BigramModel(new float[,] { { 0, l2, 0 }, { 0, 0, l2 }, { l2, 0, 0 } }, maxPositions);
    }
}
