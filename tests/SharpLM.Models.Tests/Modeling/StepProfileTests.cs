// StepProfile attributes a step's wall time to kinds of work: a profiled training step of a tiny model must
// record time in each phase its forward and backward pass through (the LM head's GEMMs and its
// cross-entropy separately).
using SharpLM.Models.Config;
using SharpLM.Models.Modeling;

namespace SharpLM.Models.Tests.Modeling;

public sealed class StepProfileTests
{
    [Fact]
    public void AProfiledStepRecordsEveryPhaseItRuns()
    {
        var cfg = TransformerModelTests.Tiny(ModelStyle.Gpt2);
        int B = 2, T = 8;
        var tokens = TransformerModelTests.Tokens(B, T, cfg.VocabSize, 3);
        using var m = new TransformerModel(cfg, 7);
        m.ForwardBackward(tokens, B, T, 1f); // buffers and code ready
        try
        {
            StepProfile.Enabled = true;
            StepProfile.Reset();
            m.ForwardBackward(tokens, B, T, 1f);
        }
        finally { StepProfile.Enabled = false; }
        foreach (var phase in new[] { StepPhase.GemmForward, StepPhase.GemmBackward, StepPhase.AttentionForward, StepPhase.AttentionBackward,
                     StepPhase.Norms, StepPhase.Activations, StepPhase.LmHead, StepPhase.CrossEntropy })
            Assert.True(StepProfile.Seconds(phase) > 0, $"{phase} recorded no time");
    }
}
