// Round-trip properties (FsCheck): decode(encode(x)) == x for arbitrary Unicode strings and arbitrary byte
// sequences, on a tokenizer trained here and on tiktoken's cl100k_base and o200k_base; the streaming decoder
// concatenates to the same text however the ids arrive. Independent reference: the input itself.
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using SharpLM.Text.Tokenization;

namespace SharpLM.Text.Tests.Tokenization;

public class RoundTripPropertyTests
{
    private static readonly Lazy<BpeTokenizer> Trained = new(() =>
        new BpeTrainer(new BpeTrainerOptions(1500, Pattern: PreTokenizerPatterns.Cl100k, SpecialTokens: ["<|endoftext|>"], Threads: 2))
            .TrainFiles([Path.Combine(Fixtures.Dir, "train_corpus.txt")]));

    private static BpeTokenizer Tok(string name) => name == "trained" ? Trained.Value : Fixtures.Encoding(name);

    public static TheoryData<string> Tokenizers => new() { "trained", "cl100k_base", "o200k_base" };

    // code points from many blocks, weighted toward the ones tokenizers treat specially
    private static readonly Gen<int> CodePoint = Gen.Frequency<int>(
        (6, Gen.Choose(0x20, 0x7E)),
        (2, Gen.Elements(0x20, 0x0A, 0x0D, 0x09, 0xA0, 0x3000, 0x0B, 0x0C, 0x27)),
        (2, Gen.Choose(0x00, 0x1F)),
        (2, Gen.Choose(0xA0, 0x24F)),
        (2, Gen.Choose(0x300, 0x36F)),
        (2, Gen.Choose(0x370, 0x6FF)),
        (2, Gen.Choose(0x900, 0xE7F)),
        (2, Gen.Choose(0x3040, 0x30FF)),
        (2, Gen.Choose(0x4E00, 0x9FFF)),
        (2, Gen.Choose(0xAC00, 0xD7A3)),
        (1, Gen.Choose(0xE000, 0xFFFD)),
        (2, Gen.Choose(0x1F300, 0x1FAFF)),
        (1, Gen.Choose(0x1D400, 0x1D7FF)),
        (1, Gen.Choose(0x10000, 0x10FFFF)));

    private static readonly Arbitrary<string> UnicodeStrings = Gen.Sized(size =>
            Gen.ListOf(CodePoint, size * 3).Select(cps =>
            {
                var sb = new StringBuilder();
                foreach (var cp in cps) sb.Append(char.ConvertFromUtf32(cp));
                return sb.ToString();
            }))
        .ToArbitrary();

    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(300).WithEndSize(120);

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Decode_of_encode_is_the_string(string name)
    {
        var tok = Tok(name);
        Check.One(Runs, Prop.ForAll(UnicodeStrings, s => tok.DecodeToString(tok.EncodeOrdinary(s)) == s));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Decode_of_encode_bytes_is_the_bytes(string name)
    {
        var tok = Tok(name);
        var bytes = Gen.Sized(size => Gen.ArrayOf(Gen.Frequency<int>(
                (3, Gen.Choose(0, 255)), (3, Gen.Choose(0x61, 0x7A)), (1, Gen.Elements(0x20, 0x0A)), (2, Gen.Choose(0x80, 0xBF)), (1, Gen.Choose(0xC0, 0xFF))),
                size * 3).Select(xs => xs.Select(x => (byte)x).ToArray()))
            .ToArbitrary();
        Check.One(Runs, Prop.ForAll(bytes, b => tok.Decode(tok.EncodeBytes(b)).AsSpan().SequenceEqual(b)));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void Stream_decoder_emits_the_text_in_complete_characters(string name)
    {
        var tok = Tok(name);
        Check.One(Runs, Prop.ForAll(UnicodeStrings, s =>
        {
            var dec = tok.CreateStreamDecoder();
            var sb = new StringBuilder();
            foreach (var id in tok.EncodeOrdinary(s))
            {
                var piece = dec.Add(id);
                // never half a surrogate pair, never a replacement char for valid input
                if (piece.Length > 0 && char.IsHighSurrogate(piece[^1])) return false;
                if (piece.Contains('\uFFFD') && !s.Contains('\uFFFD')) return false;
                sb.Append(piece);
            }
            sb.Append(dec.Flush());
            return sb.ToString() == s;
        }));
    }

    [Fact]
    public void Encode_batch_equals_one_by_one_for_random_documents()
    {
        var tok = Trained.Value;
        var docs = UnicodeStrings.Generator.Sample(300, 200).ToArray();
        var batch = tok.EncodeBatch(docs, threads: 2);
        for (int i = 0; i < docs.Length; i++) Assert.Equal(tok.EncodeOrdinary(docs[i]), batch[i]);
    }

    [Fact]
    public void Chunk_cache_growth_and_eviction_never_return_another_chunks_ids()
    {
        // 300K distinct short chunks (past the cache's growth steps and its eviction at half load), some with NUL
        // chars, which the packed 8-char keys must tell apart from shorter chunks; every id must decode back.
        var tok = Fixtures.Encoding("gpt2");
        var docs = new string[300];
        for (int d = 0; d < docs.Length; d++)
        {
            var sb = new StringBuilder();
            for (int k = 0; k < 1000; k++)
            {
                int v = d * 1000 + k;
                sb.Append(' ').Append((char)('a' + v % 26)).Append((char)('a' + v / 26 % 26)).Append((char)('a' + v / 676 % 26))
                  .Append((char)('a' + v / 17576 % 26));
                if (k % 7 == 0) sb.Append('\0');
            }
            docs[d] = sb.ToString();
        }
        tok.ClearCache();
        var first = docs.Select(tok.EncodeOrdinary).ToArray();
        var second = docs.Select(tok.EncodeOrdinary).ToArray();
        for (int d = 0; d < docs.Length; d++)
        {
            Assert.Equal(docs[d], tok.DecodeToString(first[d]));
            Assert.Equal(first[d], second[d]);
        }
    }

    [Fact]
    public void Lone_surrogates_encode_as_the_replacement_character()
    {
        var tok = Fixtures.Encoding("cl100k_base");
        Assert.Equal(tok.EncodeOrdinary("a\uFFFDb"), tok.EncodeOrdinary("a\uD800b"));
        Assert.Equal("a\uFFFDb", tok.DecodeToString(tok.EncodeOrdinary("a\uDC00b")));
    }
}
