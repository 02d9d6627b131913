// Training agreement with the Hugging Face tokenizers BPE trainer (npm @anush008/tokenizers, the Rust crate):
// same corpus (read line by line, as the Rust trainer reads files), same pre-tokenizer, same vocabulary size
// gives the same merges in the same order. Both break count ties by the smaller pair of ids, and both number
// the base alphabet in byte-level character order and new tokens in creation order, so ties resolve alike.
using SharpLM.Text.Tokenization;

namespace SharpLM.Text.Tests.Tokenization;

public class TrainerAgreementTests
{
    private static (string A, string B)[] HfMerges(string pattern)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Dir, $"train_{pattern}.json")));
        return doc.RootElement.GetProperty("merges").EnumerateArray()
            .Select(m => (m[0].GetString()!, m[1].GetString()!)).ToArray();
    }

    private static (string A, string B)[] OurMerges(BpeTokenizer tok)
    {
        var list = new List<(string, string)>();
        foreach (var (a, b, _) in tok.Merges)
            list.Add((TokenizerJson.ToByteLevel(tok.TokenBytes(a)), TokenizerJson.ToByteLevel(tok.TokenBytes(b))));
        return list.ToArray();
    }

    [Theory]
    [InlineData("gpt2", PreTokenizerPatterns.Gpt2)]
    [InlineData("cl100k", PreTokenizerPatterns.Cl100k)]
    public void Merges_equal_the_Hugging_Face_trainer(string name, string pattern)
    {
        var hf = HfMerges(name);
        Assert.True(hf.Length > 5000, $"fixture has only {hf.Length} merges");
        var trainer = new BpeTrainer(new BpeTrainerOptions(VocabSize: 256 + hf.Length, MinFrequency: 0, Pattern: pattern, Threads: 2));
        var ours = OurMerges(trainer.TrainFiles([Path.Combine(Fixtures.Dir, "train_corpus.txt")]));
        int first = Enumerable.Range(0, Math.Min(hf.Length, ours.Length)).FirstOrDefault(i => hf[i] != ours[i], -1);
        Assert.True(first < 0, first < 0 ? "" : $"merge {first} differs: HF {hf[first]} ours {ours[first]}");
        Assert.Equal(hf.Length, ours.Length);
    }
}
