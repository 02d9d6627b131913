// Checkpoint directories: atomic save, pruning that keeps the previous good checkpoint, resume lookup,
// trainer state and metrics log round trips, and the errors for incomplete or malformed files.
using System.Text.Json;
using SharpLM.Models.Config;
using SharpLM.Models.IO;
using SharpLM.Training.Checkpoints;
using SharpLM.Training.Data;

namespace SharpLM.Training.Tests.Checkpoints;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-ckpt-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ModelConfig Cfg = ModelConfig.FromDepth(2, ModelStyle.Llama, vocabSize: 300, contextLength: 64);

    private static TrainerState State(long step) => new()
    {
        Step = step,
        TokensSeen = step * 4096,
        ElapsedSeconds = step * 0.25,
        DataPosition = new LoaderPosition(1, step, 12345, new LoaderOptions(4, 64, SamplingMode.Random, 0xFFFF_FFFF_FFFF_FFF1UL, true, 1, 2)),
        RngState = [0x0123456789ABCDEFUL, ulong.MaxValue, 0, 42],
        Metrics = new Dictionary<string, double> { ["loss"] = 3.25 + step, ["lr"] = 6e-4, ["val_loss"] = double.NaN },
    };

    private static (SafetensorsEntry[] Model, SafetensorsEntry[] Opt) Tensors(long step)
    {
        float[] w = [1f * step, 2, 3, 4, 5, 6];
        return ([SafetensorsEntry.FromF32("model.embed_tokens.weight", w, 2, 3), SafetensorsEntry.FromF32("model.norm.weight", [1f, 1f], 2)],
                [SafetensorsEntry.FromF32(CheckpointStore.ExpAvgName("model.norm.weight"), [0.5f, -0.5f], 2),
                 SafetensorsEntry.FromF32(CheckpointStore.ExpAvgSqName("model.norm.weight"), [0.25f, 0.25f], 2)]);
    }

    private string Save(CheckpointStore s, long step)
    {
        var (m, o) = Tensors(step);
        return s.Save(Cfg, m, o, State(step));
    }

    [Fact]
    public void SavesLoadsAndKeepsThePreviousCheckpoint()
    {
        var store = new CheckpointStore(Path.Combine(_dir, "base"), keep: 2);
        Save(store, 100); Save(store, 200);
        string last = Save(store, 300);
        Assert.Equal([200L, 300L], store.Steps());
        Assert.Equal(new[] { "step_00000200", "step_00000300" }, Directory.GetFileSystemEntries(store.Root).Select(d => Path.GetFileName(d)!).Order().ToArray()); // no temp dirs left

        var ck = CheckpointStore.Resolve(store.Root);
        Assert.Equal(last, ck.Directory);
        Assert.Equal(Cfg, ck.Config);
        Assert.Equal(State(300), ck.State);
        using (var f = SafetensorsFile.Open(ck.ModelPath))
        {
            Assert.Equal([300f, 2, 3, 4, 5, 6], f.ReadF32("model.embed_tokens.weight"));
            Assert.Equal("pt", f.Metadata["format"]);
        }
        using (var f = SafetensorsFile.Open(ck.OptimizerPath))
            Assert.Equal([0.25f, 0.25f], f.ReadF32("model.norm.weight.exp_avg_sq"));
        Assert.Equal(200, CheckpointStore.Resolve(Path.Combine(store.Root, "step_00000200")).State.Step);
    }

    [Fact]
    public void AFailedSaveLeavesThePreviousCheckpointAndNoDebris()
    {
        var store = new CheckpointStore(_dir);
        Save(store, 10);
        var (m, _) = Tensors(20);
        Assert.Throws<ArgumentException>(() => store.Save(Cfg, m, [m[0], m[0]], State(20))); // duplicate names fail mid-save
        Assert.Equal([10L], store.Steps());
        Assert.Single(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void IncompleteDirectoriesAreIgnoredAndNamed()
    {
        var store = new CheckpointStore(_dir);
        Save(store, 5);
        string broken = Path.Combine(_dir, "step_00000009");
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, CheckpointStore.StateFile), "{}");
        Assert.Equal(5, store.Latest()!.State.Step);
        var e = Assert.Throws<FileNotFoundException>(() => CheckpointStore.Resolve(broken));
        Assert.Contains("model.safetensors", e.Message);
        string empty = Directory.CreateTempSubdirectory("sharplm-empty-").FullName;
        try { Assert.Contains("no complete checkpoint", Assert.Throws<FileNotFoundException>(() => CheckpointStore.Resolve(empty)).Message); }
        finally { Directory.Delete(empty); }
    }

    [Fact]
    public void ResavingTheSameStepReplacesIt()
    {
        var store = new CheckpointStore(_dir);
        Save(store, 7);
        var (m, o) = Tensors(8); // different weights, same step number
        store.Save(Cfg, m, o, State(7));
        using var f = SafetensorsFile.Open(store.Latest()!.ModelPath);
        Assert.Equal(8f, f.ReadF32("model.embed_tokens.weight")[0]);
        Assert.Single(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void TrainerStateJsonIsReadableAndStrict()
    {
        string json = State(3).ToJson();
        using (var doc = JsonDocument.Parse(json))
        {
            var r = doc.RootElement;
            Assert.Equal(3, r.GetProperty("step").GetInt64());
            Assert.Equal("0123456789abcdef", r.GetProperty("rng_state")[0].GetString());
            Assert.Equal("fffffffffffffff1", r.GetProperty("data_position").GetProperty("seed").GetString());
            Assert.Equal(JsonValueKind.Null, r.GetProperty("metrics").GetProperty("val_loss").ValueKind);
        }
        Assert.Equal(State(3), TrainerState.Parse(json, "t.json"));
        var e = Assert.Throws<InvalidDataException>(() => TrainerState.Parse("""{"step":"x"}""", "t.json"));
        Assert.Contains("t.json", e.Message); Assert.Contains("'step'", e.Message);
        e = Assert.Throws<InvalidDataException>(() => TrainerState.Parse(json.Replace("\"sequential\"", "\"x\"").Replace("\"random\"", "\"zig\""), "t.json"));
        Assert.Contains("'data_position.mode'", e.Message);
        e = Assert.Throws<InvalidDataException>(() => TrainerState.Parse(json.Replace("0123456789abcdef", "xyz"), "t.json"));
        Assert.Contains("'rng_state[0]'", e.Message);
    }

    [Fact]
    public void MetricsLogAppendsReadsAndCutsBackOnResume()
    {
        string p = Path.Combine(_dir, "metrics.jsonl");
        using (var log = MetricsLog.Open(p))
        {
            log.Append(new MetricsRecord(1, 10.5, 6e-4, 1.25, 12345.5, 0.125, 1.5));
            log.Append(new MetricsRecord(2, double.NaN, 6e-4, 1.0, 12000, 0.12, 3.0, ValLoss: 9.75));
            log.Append(new MetricsRecord(3, 9.5, 5e-4, 0.9, 12100, 0.121, 4.5));
        }
        string[] lines = File.ReadAllLines(p);
        Assert.Equal(3, lines.Length);
        Assert.Equal("""{"step":1,"loss":10.5,"lr":0.0006,"grad_norm":1.25,"tokens_per_s":12345.5,"mfu":0.125,"elapsed":1.5}""", lines[0]);
        Assert.Contains("\"loss\":null", lines[1]);
        var recs = MetricsLog.Read(p);
        Assert.Equal(new MetricsRecord(2, double.NaN, 6e-4, 1.0, 12000, 0.12, 3.0, 9.75), recs[1]);

        File.AppendAllText(p, "{\"step\":4,\"lo"); // torn line from a crash
        using (var log = MetricsLog.Open(p, resumeStep: 2))
            log.Append(new MetricsRecord(3, 9.4, 5e-4, 0.9, 12100, 0.121, 4.6));
        Assert.Equal([1L, 2L, 3L], MetricsLog.Read(p).Select(r => r.Step).ToArray());
        Assert.Equal(9.4, MetricsLog.Read(p)[2].Loss);

        File.AppendAllText(p, "not json\n");
        Assert.Contains(":4:", Assert.Throws<InvalidDataException>(() => MetricsLog.Read(p)).Message);
    }
}
