// Language ID: the shipped model against held-out paragraphs (from the split made by
// reference/langid/make_corpus.py, never trained on), plus training, save/load and the filter's threshold.
using SharpLM.Text.Data;
using SharpLM.Text.Data.LangId;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Text.Tests.Data;

public class LangIdTests
{
    [Fact]
    public void ShippedModel_HeldOutAccuracyAtLeast97Percent()
    {
        var model = LanguageIdModel.Default;
        Assert.Equal(["cs", "de", "en", "es", "fr", "it", "nl", "pl", "pt", "ru"], model.Labels.Order());
        var docs = DocumentReaders.ReadJsonl(Path.Combine(AppContext.BaseDirectory, "Fixtures/Data/langid_heldout.jsonl")).ToList();
        Assert.True(docs.Count >= 1000);
        var perLang = new Dictionary<string, (int Ok, int N)>();
        foreach (var d in docs)
        {
            var gold = (string)d.Metadata["language"]!;
            var (ok, n) = perLang.GetValueOrDefault(gold);
            perLang[gold] = (ok + (model.PredictTop(d.Text).Label == gold ? 1 : 0), n + 1);
        }
        double acc = perLang.Values.Sum(v => v.Ok) / (double)docs.Count;
        Assert.True(acc >= 0.97, $"accuracy {acc:P2}");
        foreach (var (lang, (ok, n)) in perLang) Assert.True(ok >= 0.9 * n, $"{lang}: {ok}/{n}");
    }

    [Fact]
    public void Probabilities_SumToOne_AndConfidenceIsHighOnClearText()
    {
        var m = LanguageIdModel.Default;
        Span<float> p = stackalloc float[m.Labels.Count];
        m.Predict("Der schnelle braune Fuchs springt über den faulen Hund, und die Katze schläft auf dem Sofa.", p);
        float sum = 0; foreach (var v in p) sum += v;
        Assert.Equal(1f, sum, 4);
        var (label, conf) = m.PredictTop("Der schnelle braune Fuchs springt über den faulen Hund, und die Katze schläft auf dem Sofa.");
        Assert.Equal("de", label);
        Assert.True(conf > 0.65f);
    }

    [Fact]
    public void Train_SaveLoad_GivesSamePredictions()
    {
        var data = new List<(string, string)>();
        for (int i = 0; i < 50; i++)
        {
            data.Add(($"aaa bab aab {i % 7} abba baab", "A"));
            data.Add(($"xyz zzy xzx {i % 5} yzzx zyxy", "B"));
        }
        var m = HashedNgramClassifier.Train(data, new ClassifierTrainOptions { Buckets = 1024, Epochs = 5, LearningRate = 2 });
        Assert.Equal("A", m.PredictTop("abab baba").Label);
        Assert.Equal("B", m.PredictTop("zyx xyz").Label);
        using var ms = new MemoryStream();
        m.Save(ms);
        ms.Position = 0;
        var back = HashedNgramClassifier.Load(ms, "mem");
        var (l1, c1) = m.PredictTop("abab zyx aab");
        var (l2, c2) = back.PredictTop("abab zyx aab");
        Assert.Equal(l1, l2);
        Assert.Equal(c1, c2, 2); // float16 storage
        Assert.Throws<InvalidDataException>(() => HashedNgramClassifier.Load(new MemoryStream([1, 2, 3]), "junk"));
    }

    [Fact]
    public void Filter_KeepsChosenLanguageAboveThreshold()
    {
        var en = new Document { Id = "1", Text = "The committee will meet on Tuesday to discuss the budget and the new proposals for the library." };
        var fr = new Document { Id = "2", Text = "Le comité se réunira mardi pour discuter du budget et des nouvelles propositions pour la bibliothèque." };
        var f = new LanguageIdFilter(LanguageIdModel.Default);
        Assert.True(f.Apply(en).Keep);
        Assert.Equal("en", en.Metadata["language"]);
        var v = f.Apply(fr);
        Assert.False(v.Keep);
        Assert.Equal("langid:language_fr", v.Reason);
        Assert.False(new LanguageIdFilter(LanguageIdModel.Default, new() { Languages = ["en"], Threshold = 1.01 }).Apply(en).Keep);
    }
}

public class QualityClassifierTests
{
    [Fact]
    public void SeparatesProseFromSpam_AndScoresInMetadata()
    {
        var rng = new Random(3);
        string[] prose = ["the river runs through the old town", "she walked to the market in the morning", "the children read books at school", "a quiet evening by the lake with friends"];
        string[] spam = ["buy cheap pills now click here", "best deals discount free shipping order now", "win money fast casino bonus click", "cheap watches sale limited offer buy"];
        string Pick(string[] s) => string.Join(". ", Enumerable.Range(0, 3).Select(_ => s[rng.Next(s.Length)]));
        var model = SharpLM.Text.Data.Quality.QualityClassifierFilter.Train(
            Enumerable.Range(0, 200).Select(_ => Pick(prose)), Enumerable.Range(0, 200).Select(_ => Pick(spam)));
        var f = new SharpLM.Text.Data.Quality.QualityClassifierFilter(model, 0.5);
        var good = new Document { Id = "g", Text = "the children walked to the lake in the morning" };
        var bad = new Document { Id = "b", Text = "click here for cheap casino deals buy now" };
        Assert.True(f.Apply(good).Keep);
        Assert.False(f.Apply(bad).Keep);
        Assert.True((double)good.Metadata["quality_score"]! > 0.5);
    }
}
