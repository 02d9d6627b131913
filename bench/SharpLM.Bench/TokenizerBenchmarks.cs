// BenchmarkDotNet suite for the tokenizer: cl100k_base encode of the committed training corpus (~280 KB of
// licence texts, code and many scripts) with a cold chunk cache (the baseline), a warm cache and batched over
// all cores, and BPE training to 2000 tokens on the same text. The quick figures against tiktoken and the
// Hugging Face trainer are `sharplm bench tokenizer --vs-peer`.
using BenchmarkDotNet.Attributes;
using SharpLM.Text.Tokenization;

namespace SharpLM.Bench;

[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private BpeTokenizer _tok = null!;
    private string[] _docs = [];

    private static string Fixture(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "tests", "SharpLM.Text.Tests", "Fixtures", "tokenizer", name);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException($"fixture {name} not found above {AppContext.BaseDirectory}");
    }

    [GlobalSetup]
    public void Setup()
    {
        _tok = TiktokenFile.LoadKnown(Fixture("cl100k_base.tiktoken.gz"), "cl100k_base");
        _docs = File.ReadAllLines(Fixture("train_corpus.txt"));
    }

    [Benchmark(Baseline = true)]
    public long EncodeCold()
    {
        _tok.ClearCache();
        long n = 0;
        foreach (var d in _docs) n += _tok.EncodeOrdinary(d).Length;
        return n;
    }

    [Benchmark]
    public long EncodeWarm()
    {
        long n = 0;
        foreach (var d in _docs) n += _tok.EncodeOrdinary(d).Length;
        return n;
    }

    [Benchmark]
    public int EncodeBatchAllCores() => _tok.EncodeBatch(_docs, ordinary: true).Length;

    [Benchmark]
    public int Train2000() => new BpeTrainer(new BpeTrainerOptions(2000)).TrainTexts(_docs).Merges.Length;
}
