// A shortened quickstart (tiny crawl, tokenizer, model and step count) that checks every artifact of the
// run directory exists and parses, and that a second run reuses every stage.
using System.Text.Json;
using System.Xml.Linq;
using AngleSharp.Html.Parser;
using SharpLM.Cli.Commands;
using SharpLM.Cli.Quickstart;
using SharpLM.Models.Modeling;
using SharpLM.Text.Data.Dedup;
using SharpLM.Text.Data.Synthetic;
using SharpLM.Text.Tokenization;
using SharpLM.Training.Checkpoints;
using SharpLM.Training.Data;

namespace SharpLM.Cli.Tests;

public class QuickstartTests
{
    [Fact]
    public void ShortRunWritesEveryArtifactAndRerunReusesThem()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sharplm-quickstart-" + Guid.NewGuid().ToString("N"));
        var o = new QuickstartOptions
        {
            OutDir = dir,
            Pages = 150,
            Seed = 3,
            VocabSize = 320,
            SeqLen = 32,
            MicroBatch = 4,
            Model = (1, 32),
            Steps = 12,
            EvalTokens = 2048,
            ArithmeticQuestions = 20,
            Minutes = 5,
            Command = "test",
        };
        try
        {
            QuickstartCommand.Run(o);

            foreach (var stage in new[] { "crawl", "data", "tokenizer", "tokens", "base", "model", "eval" })
                Assert.True(File.Exists(Path.Combine(dir, stage, QuickstartRunner.MarkerName)), $"{stage} has no marker");

            Assert.Equal(150, CrawlFiles.ReadLabels(Path.Combine(dir, "crawl", CrawlFiles.LabelsName)).Count);
            var questions = CrawlFiles.ReadQuestions(Path.Combine(dir, "crawl", CrawlFiles.QuestionsName));
            Assert.Equal(20, questions.Count(q => q.Task == "arithmetic"));

            var docs = DocumentJsonl.Read(Path.Combine(dir, "data", QuickstartStages.DocumentsFile)).ToList();
            Assert.InRange(docs.Count, 20, 149);
            using (var funnel = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "data", QuickstartStages.FunnelFile))))
            {
                var rows = funnel.RootElement.GetProperty("funnel").EnumerateArray().ToList();
                Assert.Contains(rows, r => r.GetProperty("step").GetString() == "langid");
                Assert.Equal(docs.Count, funnel.RootElement.GetProperty("docs_out").GetInt32());
            }

            var tok = TokenizerJson.Load(Path.Combine(dir, "tokenizer", QuickstartStages.TokenizerFile));
            Assert.Equal(320, tok.VocabSize);
            using (var shard = TokenShard.Open(TokenLoader.Find(Path.Combine(dir, "tokens"), "train_")[0]))
            {
                Assert.True(shard.TokenCount > 1000);
                Assert.Equal(tok.SpecialTokens[QuickstartStages.EndOfText], shard.Token(0));
            }
            Assert.NotEmpty(QuickstartStages.ReadTokens(Path.Combine(dir, "tokens"), "val_"));

            var ckpt = new CheckpointStore(Path.Combine(dir, "base")).Latest();
            Assert.NotNull(ckpt);
            Assert.Equal(12, ckpt!.State.Step);
            using (var model = TransformerModel.Load(ckpt.Directory)) Assert.Equal(1, model.Config.NumLayers);
            using (var model = TransformerModel.Load(Path.Combine(dir, "model"))) Assert.Equal(1, model.Config.NumLayers);
            Assert.Equal(tok.VocabSize, TokenizerJson.Load(Path.Combine(dir, "model", QuickstartStages.TokenizerFile)).VocabSize);
            Assert.Equal(12, MetricsLog.Read(Path.Combine(dir, "base", "metrics.jsonl")).Count);

            using (var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "eval", QuickstartStages.ResultsFile))))
            {
                var r = results.RootElement;
                Assert.True(double.IsFinite(r.GetProperty("val").GetProperty("loss").GetDouble()));
                Assert.True(r.GetProperty("unigram").GetProperty("bits_per_byte").GetDouble() > 0);
                Assert.Equal(questions.Count(q => q.Task == "facts"), r.GetProperty("tasks").GetProperty("facts").GetProperty("n").GetInt32());
                Assert.Equal(0.25, r.GetProperty("tasks").GetProperty("arithmetic").GetProperty("chance").GetDouble(), 9);
                Assert.Equal(5, r.GetProperty("samples").GetArrayLength());
                Assert.Equal(questions.Count(q => q.Task == "facts"), r.GetProperty("tasks").GetProperty("facts_crawl_wording").GetProperty("n").GetInt32());
                Assert.Equal(questions.Count(q => q.Task == "facts"), r.GetProperty("tasks").GetProperty("facts_cloze").GetProperty("n").GetInt32());
            }

            string md = File.ReadAllText(Path.Combine(dir, "report.md"));
            Assert.Contains("## Data funnel", md);
            Assert.Contains("facts (held-out wordings): multiple-choice acc", md);
            Assert.Contains("\"do you remember …\"", md);
            var html = new HtmlParser().ParseDocument(File.ReadAllText(Path.Combine(dir, "report.html")));
            Assert.True(html.QuerySelectorAll("table").Length >= 5);
            Assert.NotNull(html.QuerySelector("svg polyline"));
            XDocument.Load(Path.Combine(dir, "plots", "loss.svg"));

            // A second run reuses every stage.
            var again = new QuickstartRunner(o, _ => { }).Run();
            Assert.All(again.Where(s => s.Name != "report"), s => Assert.True(s.Reused, $"{s.Name} ran again"));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ModelOptionParsesLayersByWidthAndRejectsOtherText()
    {
        Assert.Equal((4, 192), QuickstartCommand.ParseModel("4x192"));
        Assert.Equal((2, 64), QuickstartCommand.ParseModel("2X64"));
        Assert.Null(QuickstartCommand.ParseModel(null));
        foreach (var bad in new[] { "4", "4x", "x192", "0x192", "4x100", "4x192x2", "four x 192" })
            Assert.Contains("--model", Assert.Throws<UserFacingException>(() => QuickstartCommand.ParseModel(bad)).Message);
    }
}
