// LR schedules, weight-decay groups and batch arithmetic against values worked by hand.
using SharpLM.Training.Optim;

namespace SharpLM.Training.Tests.Optim;

public sealed class ScheduleTests
{
    [Theory]
    // max 1, floor 0.1, warmup 10, total 110 (100 decay steps)
    [InlineData(0, 0.1)]                      // 1·(0+1)/10
    [InlineData(4, 0.5)]                      // 1·5/10
    [InlineData(9, 1.0)]                      // end of warmup
    [InlineData(10, 1.0)]                     // cosine at ratio 0
    [InlineData(35, 0.868198051533946)]       // 0.1 + 0.45·(1 + cos(π/4)) = 0.1 + 0.45·1.7071067811865475
    [InlineData(60, 0.55)]                    // 0.1 + 0.45·(1 + cos(π/2))
    [InlineData(85, 0.231801948466054)]       // 0.1 + 0.45·(1 + cos(3π/4))
    [InlineData(110, 0.1)]                    // floor
    [InlineData(5000, 0.1)]                   // past the end
    public void CosineByHand(long step, double lr) =>
        Assert.Equal(lr, new CosineSchedule(1.0, 0.1, 10, 110).At(step), 12);

    [Theory]
    // max 1, floor 0.1, warmup 10, total 100, last 20% (20 steps) decaying from step 80
    [InlineData(0, 0.1)]
    [InlineData(9, 1.0)]
    [InlineData(50, 1.0)]
    [InlineData(79, 1.0)]
    [InlineData(80, 1.0)]                     // 0.1 + 0.9·20/20
    [InlineData(90, 0.55)]                    // 0.1 + 0.9·10/20
    [InlineData(99, 0.145)]                   // 0.1 + 0.9·1/20
    [InlineData(100, 0.1)]
    public void WarmupStableDecayByHand(long step, double lr) =>
        Assert.Equal(lr, new WarmupStableDecaySchedule(1.0, 0.1, 10, 100, 0.2).At(step), 12);

    [Fact]
    public void SchedulesRejectBadSettings()
    {
        Assert.Throws<ArgumentException>(() => new CosineSchedule(1, 2, 0, 10).At(0));
        Assert.Throws<ArgumentException>(() => new CosineSchedule(1, 0, 20, 10).At(0));
        Assert.Throws<ArgumentException>(() => new WarmupStableDecaySchedule(1, 0, 50, 100, 0.6).At(0));
        Assert.Equal(1.0, new CosineSchedule(1, 0, 0, 10).At(0)); // no warmup: starts at the peak
    }

    [Theory]
    [InlineData("transformer.wte.weight", 2, false)]
    [InlineData("transformer.wpe.weight", 2, false)]
    [InlineData("transformer.h.0.ln_1.weight", 1, false)]
    [InlineData("transformer.h.0.ln_1.bias", 1, false)]
    [InlineData("transformer.h.0.attn.c_attn.weight", 2, true)]
    [InlineData("transformer.h.0.attn.c_attn.bias", 1, false)]
    [InlineData("transformer.h.11.mlp.c_proj.weight", 2, true)]
    [InlineData("transformer.ln_f.weight", 1, false)]
    [InlineData("lm_head.weight", 2, true)]
    [InlineData("model.embed_tokens.weight", 2, false)]
    [InlineData("model.layers.3.input_layernorm.weight", 1, false)]
    [InlineData("model.layers.3.post_attention_layernorm.weight", 1, false)]
    [InlineData("model.layers.3.self_attn.q_proj.weight", 2, true)]
    [InlineData("model.layers.3.mlp.gate_proj.weight", 2, true)]
    [InlineData("model.norm.weight", 1, false)]
    [InlineData("some.rank2.norm_scale", 2, false)] // name wins even at rank 2
    [InlineData("some.unknown.vector", 1, false)]   // rank wins for unknown names
    public void WeightDecayRule(string name, int rank, bool decays) =>
        Assert.Equal(decays, ParamGroups.Decays(name, rank));

    [Fact]
    public void SplitKeepsOrder()
    {
        var (d, nd) = ParamGroups.Split([("a.weight", 2), ("a.bias", 1), ("b.weight", 2), ("wte.weight", 2)]);
        Assert.Equal(["a.weight", "b.weight"], d);
        Assert.Equal(["a.bias", "wte.weight"], nd);
    }

    [Fact]
    public void AccumulationStepsFromTokens()
    {
        Assert.Equal(8, new BatchPlan(524_288, 64, 1024).AccumulationSteps);           // llm.c GPT-2 124M: 2^19 / (64·1024)
        Assert.Equal(16, new BatchPlan(524_288, 16, 1024, WorldSize: 2).AccumulationSteps);
        Assert.Equal(1, new BatchPlan(4096, 4, 1024).AccumulationSteps);
        var e = Assert.Throws<ArgumentException>(() => new BatchPlan(500_000, 64, 1024).AccumulationSteps);
        Assert.Contains("65536", e.Message);
        Assert.Contains("458752", e.Message);
        Assert.Contains("524288", e.Message);
        Assert.Throws<ArgumentException>(() => new BatchPlan(4096, 0, 1024).AccumulationSteps);
    }
}

public sealed class CosineAgainstTorchTests
{
    // Golden values from torch.optim.lr_scheduler (LinearLR → CosineAnnealingLR), reference/formats/make_schedules.py.
    [Fact]
    public void MatchesPyTorchSchedulers()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "cosine_schedule.json");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        int cases = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var s = new CosineSchedule(c.GetProperty("max_lr").GetDouble(), c.GetProperty("min_lr").GetDouble(),
                                       c.GetProperty("warmup").GetInt64(), c.GetProperty("total").GetInt64());
            long step = 0;
            foreach (var lr in c.GetProperty("lr").EnumerateArray())
            {
                double want = lr.GetDouble();
                Assert.True(Math.Abs(s.At(step) - want) <= 1e-12 * Math.Max(1, Math.Abs(want)), $"case {cases} step {step}: {s.At(step)} vs torch {want}");
                step++;
            }
            Assert.Equal(s.TotalSteps, step);
            cases++;
        }
        Assert.Equal(3, cases);
    }
}
