// Hand-worked values for intervals, bits per byte, the unigram baseline, multiple-choice scoring and
// funnel precision/recall.
using SharpLM.Evaluation.Metrics;
using SharpLM.Evaluation.Tasks;

namespace SharpLM.Evaluation.Tests;

public class MetricsTests
{
    [Fact]
    public void WilsonIntervalMatchesWorkedValues()
    {
        // 50/100: centre (0.5 + z²/200)/(1 + z²/100) = 0.5, half = z/(1+z²/100)·sqrt(0.0025 + z²/40000) = 0.09617.
        var a = Intervals.Wilson(50, 100);
        Assert.Equal(0.40383, a.Low, 4);
        Assert.Equal(0.59617, a.High, 4);
        // 0/10: the textbook upper bound 0.2775 (where the normal interval collapses to [0, 0]).
        var b = Intervals.Wilson(0, 10);
        Assert.Equal(0.0, b.Low, 6);
        Assert.Equal(0.27753, b.High, 4);
        Assert.Equal(new Interval(0, 0), Intervals.Normal(0, 10));
        // Normal: 0.5 ± 1.96 · 0.05.
        var c = Intervals.Normal(50, 100);
        Assert.Equal(0.5 - 0.0979982, c.Low, 6);
        Assert.Equal(0.5 + 0.0979982, c.High, 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => Intervals.Wilson(11, 10));
    }

    [Fact]
    public void UniformModelHasLn4LossAndOneBitPerByteOnTwoByteTokens()
    {
        var model = new BigramModel(new float[4, 4]);
        int[] tokens = [0, 1, 2, 3, 0, 1, 2, 3, 3, 2];
        var s = LanguageModeling.Score(model, tokens, seq: 4, bytesPerToken: [2, 2, 2, 2], batch: 2);
        Assert.Equal(9, s.Tokens);
        Assert.Equal(18, s.Bytes);
        Assert.Equal(Math.Log(4), s.Loss, 6);
        Assert.Equal(1.0, s.BitsPerByte, 6);
        Assert.Equal(4.0, s.Perplexity, 5);
    }

    [Fact]
    public void BigramStreamScoreIsTheHandSum()
    {
        // Targets 1|0, 2|1, 1|2 have p = 1/2, 1/2, 1/4: 4 ln 2 nats over 3 tokens; bytes 2 + 3 + 2 = 7, so bpb = 4/7.
        var model = BigramModel.Simple();
        foreach (int seq in new[] { 1, 2, 3 })
            foreach (int batch in new[] { 1, 2, 4 })
            {
                var s = LanguageModeling.Score(model, [0, 1, 2, 1], seq, [1, 2, 3], batch);
                Assert.Equal(3, s.Tokens);
                Assert.Equal(4 * Math.Log(2), s.Nats, 5);
                Assert.Equal(4.0 / 7, s.BitsPerByte, 5);
            }
        // A zero-byte (special) target counts in the loss but not in bits per byte.
        var z = LanguageModeling.Score(model, [0, 1, 2, 1], 3, [1, 2, 0]);
        Assert.Equal(4 * Math.Log(2), z.Nats, 5);
        Assert.Equal(4, z.Bytes);
        Assert.Equal(3 * Math.Log(2) / (Math.Log(2) * 4), z.BitsPerByte, 5);
    }

    [Fact]
    public void UnigramBaselineIsAddOneSmoothed()
    {
        // Train [0,0,1,2] over V=4 with α=1: p = (3, 2, 2, 1)/8. Targets of [2,0,3] are 0 and 3.
        var u = new UnigramModel(4);
        u.Add([0, 0, 1, 2]);
        Assert.Equal(Math.Log(3.0 / 8), u.LogProb(0), 12);
        Assert.Equal(Math.Log(1.0 / 8), u.LogProb(3), 12);
        var s = u.Score([2, 0, 3], [1, 1, 1, 2]);
        Assert.Equal(2, s.Tokens);
        Assert.Equal(Math.Log(8.0 / 3) + Math.Log(8), s.Nats, 12);
        Assert.Equal((Math.Log(8.0 / 3) + Math.Log(8)) / (Math.Log(2) * 3), s.BitsPerByte, 12);
    }

    private static readonly Func<string, int[]> CharEncode = s => s.Select(c => c switch { ' ' => 0, 'a' => 1, 'b' => 2, _ => throw new ArgumentException(c.ToString()) }).ToArray();

    [Fact]
    public void EncodePairMovesTrailingSpacesToTheContinuation()
    {
        var (ctx, cont) = MultipleChoice.EncodePair(CharEncode, "ab ", "a");
        Assert.Equal([1, 2], ctx);
        Assert.Equal([0, 1], cont);
    }

    [Fact]
    public void AccAndAccNormPickByHandWorkedLikelihoods()
    {
        // Context "a" = [1]. " a" = [0,1]: ln(1/4)+ln(1/2) = −3 ln 2 (−3 ln2 per char).
        // " aa" = [0,1,1]: ln(1/4)+ln(1/2)+ln(1/4) = −5 ln 2 (−2.5 ln 2 per char). " b" = [0,2]: ln(1/4)+ln(1/4) = −4 ln 2.
        var model = BigramModel.Simple();
        var item = new McItem("q", "a", ["a", "aa", "b"], Gold: 1);
        var s = MultipleChoice.Score(model, CharEncode, item);
        double l2 = Math.Log(2);
        Assert.Equal(-3 * l2, s.LogLikelihoods[0], 5);
        Assert.Equal(-5 * l2, s.LogLikelihoods[1], 5);
        Assert.Equal(-4 * l2, s.LogLikelihoods[2], 5);
        Assert.Equal(0, s.Predicted);
        Assert.Equal(1, s.PredictedNorm);
        Assert.False(s.Correct);
        Assert.True(s.CorrectNorm);
        Assert.Equal(1, model.LogitsCalls); // all choices in one batch

        var r = McResult.From("t", [s, MultipleChoice.Score(model, CharEncode, item with { Gold = 0 }),
                                    MultipleChoice.Score(model, CharEncode, new McItem("q2", "a", ["a", "b"], 0))]);
        Assert.Equal(3, r.N);
        Assert.Equal(2, r.Correct);
        Assert.Equal(2, r.CorrectNorm);
        Assert.Equal((1.0 / 3 + 1.0 / 3 + 1.0 / 2) / 3, r.Chance, 12);
        Assert.Equal(Intervals.Wilson(2, 3), r.AccuracyCi);
    }

    [Fact]
    public void LongContextsAreCutFromTheLeft()
    {
        // Context of 10 tokens, model context 4: only the last inputs are kept; the continuation's score is unchanged
        // for a bigram model, because it depends only on the token before each target.
        var model = BigramModel.Simple(maxPositions: 4);
        var s = MultipleChoice.Score(model, CharEncode, new McItem("q", "abababbbba", ["a", "aa"], 0));
        Assert.Equal(-3 * Math.Log(2), s.LogLikelihoods[0], 5);
        Assert.Equal(-5 * Math.Log(2), s.LogLikelihoods[1], 5);
    }

    [Fact]
    public void FunnelPrecisionAndRecall()
    {
        // 10 documents enter; 4 are spam (s1..s4); the step removes s1, s2, s3 and one clean page c1.
        var entering = new[] { "s1", "s2", "s3", "s4", "c1", "c2", "c3", "c4", "c5", "c6" };
        var removed = new HashSet<string> { "s1", "s2", "s3", "c1" };
        var row = FilterScoring.Score("quality", "spam", entering, removed, id => id.StartsWith('s'));
        Assert.Equal(6, row.Out);
        Assert.Equal(0.75, row.Precision!.Value, 12);
        Assert.Equal(0.75, row.Recall!.Value, 12);
        var none = FilterScoring.Score("noop", "spam", entering, new HashSet<string>(), id => id.StartsWith('s'));
        Assert.Null(none.Precision);
        Assert.Equal(0.0, none.Recall!.Value);
        Assert.Throws<ArgumentException>(() => FilterScoring.Score("bad", "x", entering, new HashSet<string> { "zz" }, _ => false));
    }
}
