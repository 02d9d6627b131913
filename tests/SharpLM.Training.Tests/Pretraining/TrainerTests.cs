// The pretraining loop on the tiny model: it learns a deterministic bigram language to near-zero loss;
// an interrupted (cancelled) run resumed from its checkpoint reproduces the uninterrupted run's losses,
// validation losses, samples, final weights and optimizer moments bit for bit; the same seed gives the
// same run; a non-finite step is skipped without touching the weights and K in a row abort keeping the
// last good checkpoint; gradient accumulation equals one big micro-batch; run.json round-trips.
using System.Text.Json;
using SharpLM.Models.Config;
using SharpLM.Models.IO;
using SharpLM.Models.Modeling;
using SharpLM.Training.Checkpoints;
using SharpLM.Training.Pretraining;

namespace SharpLM.Training.Tests.Pretraining;

public sealed class TrainerTests : IDisposable
{
    private const int V = 16, C = 16;
    private readonly string _root = Directory.CreateTempSubdirectory("sharplm-trainer-").FullName;
    private readonly string _data;
    private readonly string _configFile;

    public TrainerTests()
    {
        _data = Path.Combine(_root, "tokens");
        Directory.CreateDirectory(_data);
        // A deterministic language: x → (5x + 3) mod 16, documents starting at varied tokens.
        int[][] Docs(int count, int len, int seed)
        {
            var r = new Random(seed);
            var docs = new int[count][];
            for (int d = 0; d < count; d++)
            {
                docs[d] = new int[len];
                int x = r.Next(V);
                for (int i = 0; i < len; i++) { docs[d][i] = x; x = (5 * x + 3) % V; }
            }
            return docs;
        }
        Data.TokenShardTests.Write(_data, "train_000.bin", V, Docs(40, 100, 1));
        Data.TokenShardTests.Write(_data, "val_000.bin", V, Docs(1, 400, 2));
        _configFile = Path.Combine(_root, "tiny.json");
        ModelConfigJson.Write(_configFile, TinyLm.ConfigFor(V, C));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private RunSettings Settings(string name, TrainOptions o) => new() { DataDir = _data, OutDir = Path.Combine(_root, name), ConfigFile = _configFile, Train = o };

    private static TrainOptions Opts(long steps) => new()
    {
        MicroBatch = 4,
        SeqLen = 16,
        BatchTokens = 128,
        Lr = 0.05,
        MinLr = 0.005,
        WarmupSteps = 3,
        Steps = steps,
        EvalEvery = 4,
        EvalBatches = 2,
        SampleEvery = 4,
        SampleTokens = 6,
        SaveEvery = 4,
        Seed = 42,
    };

    private static ILanguageModel Factory(ModelConfig c, ulong seed) => new TinyLm(c, seed);

    [Fact]
    public void LearnsADeterministicLanguageToNearZeroLoss()
    {
        var s = Settings("overfit", Opts(120) with { SaveEvery = 0, EvalEvery = 0, SampleEvery = 0 });
        var r = TrainRun.Execute(s, resume: false, Factory);
        Assert.Equal(TrainStatus.Completed, r.Status);
        Assert.Equal(120, r.Step);
        Assert.True(r.Losses[0] > 2.0, $"first loss {r.Losses[0]} should be near ln 16 = 2.77");
        Assert.True(r.Losses[^1] < 0.05, $"final loss {r.Losses[^1]}");
        Assert.NotNull(r.LastValidation); // the end always validates
        Assert.True(r.LastValidation!.Value.Loss < 0.05);
        Assert.Equal(r.LastValidation.Value.Loss / Math.Log(2), r.LastValidation.Value.BitsPerByte, 12); // no tokenizer: bytes = tokens
        var metrics = MetricsLog.Read(Path.Combine(s.OutDir, "metrics.jsonl"));
        Assert.Equal(Enumerable.Range(1, 120).Select(i => (long)i), metrics.Select(m => m.Step));
        Assert.Equal(r.Losses, metrics.Select(m => m.Loss));
        // lr follows the cosine schedule: warmup 0.05·1/3 at step 1, floor at the end
        Assert.Equal(0.05 / 3, metrics[0].Lr, 15);
        Assert.Equal(new SharpLM.Training.Optim.CosineSchedule(0.05, 0.005, 3, 120).At(119), metrics[^1].Lr, 15);
        Assert.Equal([120L], new CheckpointStore(s.OutDir).Steps());
    }

    [Fact]
    public void ResumedRunReproducesTheUninterruptedRunBitForBit()
    {
        var a = Settings("a", Opts(12));
        var ra = TrainRun.Execute(a, resume: false, Factory);
        Assert.Equal(TrainStatus.Completed, ra.Status);

        // Same run, "Ctrl-C" after step 6 (cancellation between steps saves a checkpoint), then --resume.
        var b = Settings("b", Opts(12));
        using var cts = new CancellationTokenSource();
        var rb1 = TrainRun.Execute(b, resume: false, Factory, onStep: st => { if (st.Step == 6) cts.Cancel(); }, cancel: cts.Token);
        Assert.Equal(TrainStatus.Interrupted, rb1.Status);
        Assert.Equal(6, rb1.Step);
        Assert.Contains(6L, new CheckpointStore(b.OutDir).Steps());
        var rb2 = TrainRun.Execute(b, resume: true, Factory);
        Assert.Equal(TrainStatus.Completed, rb2.Status);

        var ma = MetricsLog.Read(Path.Combine(a.OutDir, "metrics.jsonl"));
        var mb = MetricsLog.Read(Path.Combine(b.OutDir, "metrics.jsonl"));
        Assert.Equal(12, mb.Count);
        for (int i = 0; i < 12; i++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(ma[i].Loss), BitConverter.DoubleToInt64Bits(mb[i].Loss));
            Assert.Equal(ma[i].Lr, mb[i].Lr);
            Assert.Equal(ma[i].GradNorm, mb[i].GradNorm);
            Assert.Equal(ma[i].ValLoss, mb[i].ValLoss);
        }
        Assert.Equal(ra.Losses.Skip(6), rb2.Losses);
        Assert.Equal(File.ReadAllLines(Path.Combine(a.OutDir, "samples.jsonl")), File.ReadAllLines(Path.Combine(b.OutDir, "samples.jsonl")));
        string fa = Path.Combine(a.OutDir, CheckpointStore.DirectoryName(12)), fb = Path.Combine(b.OutDir, CheckpointStore.DirectoryName(12));
        Assert.Equal(File.ReadAllBytes(Path.Combine(fa, CheckpointStore.ModelFile)), File.ReadAllBytes(Path.Combine(fb, CheckpointStore.ModelFile)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(fa, CheckpointStore.OptimizerFile)), File.ReadAllBytes(Path.Combine(fb, CheckpointStore.OptimizerFile)));
        var sa = CheckpointStore.Load(fa).State; var sb = CheckpointStore.Load(fb).State;
        Assert.Equal(sa.DataPosition, sb.DataPosition);
        Assert.Equal(sa.RngState, sb.RngState);
        Assert.Equal(sa.TokensSeen, sb.TokensSeen);
        Assert.Equal(12 * 128, sa.TokensSeen);

        // and a second run with the same seed is the same run
        var c = Settings("c", Opts(12));
        Assert.Equal(ra.Losses, TrainRun.Execute(c, resume: false, Factory).Losses);
    }

    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    [InlineData(ModelStyle.Gpt2, true)]
    [InlineData(ModelStyle.Llama, true)]
    public void TheTransformerResumesBitForBitToo(ModelStyle style, bool bf16Activations = false)
    {
        // The real model (parallel kernels): an interrupted and resumed run equals the uninterrupted one.
        var cfg = new ModelConfig
        {
            Style = style,
            NumLayers = 2,
            NumHeads = 2,
            NumKvHeads = style == ModelStyle.Llama ? 1 : 2,
            HiddenSize = 32,
            IntermediateSize = style == ModelStyle.Llama ? 64 : 128,
            MaxPositions = 16,
            VocabSize = V,
            PaddedVocabSize = V,
            TieWordEmbeddings = style == ModelStyle.Gpt2,
        }.Validate();
        string cfgFile = Path.Combine(_root, $"tf-{style}.json");
        ModelConfigJson.Write(cfgFile, cfg);
        ILanguageModel Tf(ModelConfig c, ulong seed) => new TransformerModel(c, seed) { Bf16Activations = bf16Activations };
        var o = Opts(8) with { Lr = 3e-3, MinLr = 3e-4, EvalEvery = 4, SampleEvery = 4, SaveEvery = 4, Bf16Activations = bf16Activations };
        var a = Settings($"tf-a-{style}-{bf16Activations}", o) with { ConfigFile = cfgFile };
        var b = Settings($"tf-b-{style}-{bf16Activations}", o) with { ConfigFile = cfgFile };
        var ra = TrainRun.Execute(a, resume: false, Tf);
        using var cts = new CancellationTokenSource();
        TrainRun.Execute(b, resume: false, Tf, onStep: st => { if (st.Step == 3) cts.Cancel(); }, cancel: cts.Token);
        var rb = TrainRun.Execute(b, resume: true, Tf);
        Assert.Equal(ra.Losses.Skip(3), rb.Losses);
        Assert.True(ra.Losses[^1] < ra.Losses[0], $"loss went from {ra.Losses[0]} to {ra.Losses[^1]}");
        string fa = Path.Combine(a.OutDir, CheckpointStore.DirectoryName(8)), fb = Path.Combine(b.OutDir, CheckpointStore.DirectoryName(8));
        Assert.Equal(File.ReadAllBytes(Path.Combine(fa, CheckpointStore.ModelFile)), File.ReadAllBytes(Path.Combine(fb, CheckpointStore.ModelFile)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(fa, CheckpointStore.OptimizerFile)), File.ReadAllBytes(Path.Combine(fb, CheckpointStore.OptimizerFile)));
        Assert.Equal(MetricsLog.Read(Path.Combine(a.OutDir, "metrics.jsonl")).Select(m => (m.Loss, m.GradNorm, m.ValLoss)),
                     MetricsLog.Read(Path.Combine(b.OutDir, "metrics.jsonl")).Select(m => (m.Loss, m.GradNorm, m.ValLoss)));
    }

    [Fact]
    public void ANonFiniteStepIsSkippedWithoutTouchingTheWeights()
    {
        var s = Settings("skip", Opts(8));
        // Accumulation 2: step 5 (1-based) runs calls 8 and 9; poison call 8.
        var snapshots = new Dictionary<long, float[]>();
        TinyLm? model = null;
        var messages = new List<string>();
        var r = TrainRun.Execute(s, resume: false, (c, seed) => model = new TinyLm(c, seed) { Poison = call => call == 8 },
            onMessage: messages.Add,
            onStep: st => snapshots[st.Step] = model!.Parameters.SelectMany(p => p.Value.ToArray()).ToArray());
        Assert.Equal(TrainStatus.Completed, r.Status);
        Assert.True(double.IsNaN(r.Losses[4]));
        Assert.All(r.Losses.Where((_, i) => i != 4), l => Assert.True(double.IsFinite(l)));
        Assert.Equal(snapshots[4], snapshots[5]);       // the skipped step changed nothing
        Assert.NotEqual(snapshots[5], snapshots[6]);    // and training went on
        Assert.Contains(messages, m => m.Contains("step 5") && m.Contains("skipped"));
        var last = new CheckpointStore(s.OutDir).Latest()!;
        Assert.Equal(1.0, last.State.Metrics["skipped_steps"]);
        Assert.Equal(7.0, last.State.Metrics["optimizer_updates"]);
        Assert.True(double.IsNaN(MetricsLog.Read(Path.Combine(s.OutDir, "metrics.jsonl"))[4].Loss)); // written as null
    }

    [Fact]
    public void RepeatedNonFiniteStepsAbortKeepingTheLastGoodCheckpoint()
    {
        var s = Settings("diverge", Opts(20) with { SaveEvery = 2, MaxBadSteps = 3, EvalEvery = 0, SampleEvery = 0 });
        // Steps 6, 7, 8, … are all bad (calls 10 and later).
        var r = TrainRun.Execute(s, resume: false, (c, seed) => new TinyLm(c, seed) { Poison = call => call >= 10 });
        Assert.Equal(TrainStatus.Diverged, r.Status);
        Assert.Equal(8, r.Step);
        var store = new CheckpointStore(s.OutDir);
        Assert.Equal([2L, 4L], store.Steps()); // step 6 was bad, so nothing after 4 was saved
        var ck = store.Latest()!;
        Assert.Equal(4, ck.State.Step);
        using var f = SafetensorsFile.Open(ck.ModelPath);
        foreach (var t in f.Tensors) Assert.All(f.ReadF32(t.Name), x => Assert.True(float.IsFinite(x)));
        var m = MetricsLog.Read(Path.Combine(s.OutDir, "metrics.jsonl"));
        Assert.Equal(8, m.Count);
        Assert.All(m.Skip(5), x => Assert.True(double.IsNaN(x.Loss)));
    }

    [Fact]
    public void BitsPerByteCountsTokenBytesAndLeavesOutSpecialTokens()
    {
        using var m = new TinyLm(V, C, 3);
        using var val = new SharpLM.Training.Data.TokenLoader([Path.Combine(_data, "val_000.bin")], new SharpLM.Training.Data.LoaderOptions(4, 16, SharpLM.Training.Data.SamplingMode.Sequential));
        var bytes = Enumerable.Range(0, V).Select(id => id == 0 ? 0 : id % 3 + 1).ToArray(); // id 0 plays a special token
        var r = Validation.Evaluate(m, val, 2, bytes);
        // Independent: every (input, target) pair scored alone in double.
        val.Reset();
        var rows = new int[4 * 17];
        double nats = 0, natsCounted = 0; long nBytes = 0, n = 0, specials = 0;
        for (int k = 0; k < 2; k++)
        {
            val.NextBatch(rows);
            for (int b = 0; b < 4; b++)
                for (int t = 0; t < 16; t++)
                {
                    int y = rows[b * 17 + t + 1];
                    double l = m.LossF64([rows[b * 17 + t], y], 1, 1);
                    nats += l; n++;
                    if (bytes[y] > 0) { natsCounted += l; nBytes += bytes[y]; } else specials++;
                }
        }
        Assert.True(specials > 0); // the case exercises the exclusion
        Assert.Equal(n, r.Tokens);
        Assert.Equal(nBytes, r.Bytes);
        Assert.Equal(nats / n, r.Loss, 1e-5);
        Assert.Equal(natsCounted / (Math.Log(2) * nBytes), r.BitsPerByte, 1e-5);
        // Without a tokenizer: bytes = tokens and the loss comes from ILanguageModel.Loss.
        var plain = Validation.Evaluate(m, val, 2, default);
        Assert.Equal(nats / n, plain.Loss, 1e-5);
        Assert.Equal(plain.Loss / Math.Log(2), plain.BitsPerByte, 12);
    }

    [Fact]
    public void AccumulatingTwoMicroBatchesEqualsOneBatchOfBoth()
    {
        int[] rows = new int[4 * 17];
        for (int i = 0; i < rows.Length; i++) rows[i] = (i * 7 + 3) % V;
        using var one = new TinyLm(V, C, 9);
        using var two = new TinyLm(V, C, 9);
        float l1 = one.ForwardBackward(rows, 4, 16, 1f);
        float l2 = two.ForwardBackward(rows.AsSpan(0, 2 * 17), 2, 16, 0.5f) + two.ForwardBackward(rows.AsSpan(2 * 17), 2, 16, 0.5f);
        Assert.Equal(l1, l2 / 2, 1e-5);
        for (int p = 0; p < 3; p++)
        {
            var g1 = one.Parameters[p].Grad.ToArray(); var g2 = two.Parameters[p].Grad.ToArray();
            for (int i = 0; i < g1.Length; i++) Assert.True(Math.Abs(g1[i] - g2[i]) <= 1e-6 + 1e-5 * Math.Abs(g1[i]), $"{one.Parameters[p].Name}[{i}]");
        }
    }

    [Fact]
    public void RunFileRecordsEverySettingAndReadsBack()
    {
        var o = Opts(30) with { Schedule = ScheduleKind.Wsd, DecayFraction = 0.25, Seed = ulong.MaxValue - 3, AlignToDocuments = true, Minutes = 1.5, Bf16 = true, Bf16Activations = true };
        var s = Settings("runfile", o);
        string path = Path.Combine(_root, "run.json");
        TrainRun.WriteRunFile(path, s, TinyLm.ConfigFor(V, C), tokenizer: null, resumedFromStep: 10);
        var back = TrainRun.ReadRunFile(path);
        Assert.Equal(o with { MinLr = o.EffectiveMinLr }, back.Train);
        Assert.Equal(Path.GetFullPath(s.DataDir), back.DataDir);
        Assert.Equal(Path.GetFullPath(_configFile), back.ConfigFile);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal(2, doc.RootElement.GetProperty("train").GetProperty("accumulation_steps").GetInt32());
        Assert.Equal(10, doc.RootElement.GetProperty("resumed_from_step").GetInt32());
        Assert.Equal(TinyLm.ConfigFor(V, C).ParameterCount(), doc.RootElement.GetProperty("model").GetProperty("parameters").GetInt64());
    }

    [Fact]
    public void BadSettingsAreRefusedNamingTheOption()
    {
        Assert.Contains("--batch-tokens", Assert.Throws<ArgumentException>(() => (Opts(10) with { BatchTokens = 100 }).Validate()).Message);
        Assert.Contains("--steps", Assert.Throws<ArgumentException>(() => (Opts(0)).Validate()).Message);
        var noModel = Settings("x", Opts(10)) with { ConfigFile = null };
        Assert.Contains("--preset", Assert.Throws<ArgumentException>(() => TrainRun.ResolveModel(noModel, null, V)).Message);
        var tooLong = Settings("x", Opts(10) with { SeqLen = 128 });
        Assert.Contains("context", Assert.Throws<ArgumentException>(() => TrainRun.ResolveModel(tooLong, null, V)).Message);
        Assert.Contains("vocabulary", Assert.Throws<ArgumentException>(() => TrainRun.ResolveModel(Settings("x", Opts(10)), null, 1000)).Message);
        var e = Assert.Throws<FileNotFoundException>(() => TrainRun.Execute(Settings("none", Opts(10)), resume: true, Factory));
        Assert.Contains("--resume", e.Message);
    }
}
