// A fastText-style linear classifier over hashed n-gram features (Joulin et al. 2016, "Bag of Tricks for
// Efficient Text Classification", without the hidden layer): features are character n-grams (language ID) or
// word n-grams (quality / domain classifiers), hashed into B buckets; a document's score for class c is
// bias[c] + mean over its features f of W[f, c]; probabilities are the softmax of the scores, so the top
// probability is the confidence. Trained by SGD on softmax cross-entropy with a linearly decaying rate.
// Rows hold 16 floats (classes padded) so scoring is one 512-bit add per feature. Not here: hierarchical
// softmax, subword embeddings, quantisation beyond storing weights as float16.
using System.IO.Compression;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;

namespace SharpLM.Text.Data.LangId;

/// <summary>How text becomes features.</summary>
public enum FeatureKind : byte
{
    /// <summary>Character n-grams of the lower-cased text, words padded with spaces.</summary>
    CharNgrams = 0,
    /// <summary>Word n-grams of the lower-cased text.</summary>
    WordNgrams = 1,
}

/// <summary>Training settings.</summary>
public sealed record ClassifierTrainOptions
{
    public int Epochs { get; init; } = 5;
    public float LearningRate { get; init; } = 0.5f;
    public int Buckets { get; init; } = 1 << 16;
    public int MinN { get; init; } = 1;
    public int MaxN { get; init; } = 4;
    public FeatureKind Kind { get; init; } = FeatureKind.CharNgrams;
    public int Seed { get; init; } = 1234;
    /// <summary>Only the first this many characters of a text are featurised (scoring and training alike).</summary>
    public int MaxChars { get; init; } = 4096;
}

/// <summary>A trained hashed n-gram classifier.</summary>
public sealed class HashedNgramClassifier
{
    /// <summary>Padded row width (max classes).</summary>
    public const int Stride = 16;
    private const uint Magic = 0x4E474C53; // "SLGN"

    /// <summary>Class labels, in score order.</summary>
    public IReadOnlyList<string> Labels { get; }
    /// <summary>Feature kind.</summary>
    public FeatureKind Kind { get; }
    /// <summary>Smallest n-gram order.</summary>
    public int MinN { get; }
    /// <summary>Largest n-gram order.</summary>
    public int MaxN { get; }
    /// <summary>Number of hash buckets (power of two).</summary>
    public int Buckets { get; }
    /// <summary>Characters featurised per text.</summary>
    public int MaxChars { get; }

    private readonly float[] _w;     // [Buckets, Stride]
    private readonly float[] _bias;  // [Stride], padding classes at -inf-ish

    private HashedNgramClassifier(string[] labels, FeatureKind kind, int minN, int maxN, int buckets, int maxChars, float[] w, float[] bias)
    {
        if (labels.Length is < 2 or > Stride) throw new ArgumentException($"need 2..{Stride} classes, got {labels.Length}");
        if (!BitOperations.IsPow2(buckets)) throw new ArgumentException("buckets must be a power of two");
        Labels = labels; Kind = kind; MinN = minN; MaxN = maxN; Buckets = buckets; MaxChars = maxChars; _w = w; _bias = bias;
    }

    /// <summary>Probabilities per class (length = Labels.Count) for <paramref name="text"/>.</summary>
    public void Predict(ReadOnlySpan<char> text, Span<float> probs)
    {
        Span<float> acc = stackalloc float[Stride];
        Score(text, acc);
        Softmax(acc[..Labels.Count], probs);
    }

    /// <summary>The best label and its probability.</summary>
    public (string Label, float Confidence) PredictTop(ReadOnlySpan<char> text)
    {
        Span<float> p = stackalloc float[Stride];
        Predict(text, p[..Labels.Count]);
        int best = 0;
        for (int c = 1; c < Labels.Count; c++) if (p[c] > p[best]) best = c;
        return (Labels[best], p[best]);
    }

    private void Score(ReadOnlySpan<char> text, Span<float> acc)
    {
        acc.Clear();
        int count = 0;
        var sum = Vector512<float>.Zero;
        ref float w0 = ref MemoryMarshal.GetArrayDataReference(_w);
        var feats = new FeatureEnumerator(text, Kind, MinN, MaxN, Buckets - 1, MaxChars);
        while (feats.MoveNext(out int f))
        {
            sum += Vector512.LoadUnsafe(ref w0, (nuint)(f * Stride));
            count++;
        }
        if (count > 0) sum /= count;
        sum += Vector512.Create(_bias);
        sum.CopyTo(acc);
    }

    private static void Softmax(ReadOnlySpan<float> x, Span<float> p)
    {
        float max = float.NegativeInfinity;
        foreach (var v in x) max = MathF.Max(max, v);
        float s = 0;
        for (int i = 0; i < x.Length; i++) { p[i] = MathF.Exp(x[i] - max); s += p[i]; }
        for (int i = 0; i < x.Length; i++) p[i] /= s;
    }

    /// <summary>Trains on (text, label) pairs; labels are taken in first-seen order unless given.</summary>
    public static HashedNgramClassifier Train(IReadOnlyList<(string Text, string Label)> data, ClassifierTrainOptions? options = null, IReadOnlyList<string>? labels = null, Action<int, double>? onEpoch = null)
    {
        var o = options ?? new ClassifierTrainOptions();
        var labelList = labels?.ToList() ?? data.Select(d => d.Label).Distinct().ToList();
        var index = labelList.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        int C = labelList.Count;
        var w = new float[o.Buckets * Stride];
        var bias = new float[Stride];
        for (int c = C; c < Stride; c++) bias[c] = -1e4f;
        var model = new HashedNgramClassifier([.. labelList], o.Kind, o.MinN, o.MaxN, o.Buckets, o.MaxChars, w, bias);
        // Pre-featurise once.
        var feats = new int[data.Count][];
        var y = new int[data.Count];
        var tmp = new List<int>();
        for (int i = 0; i < data.Count; i++)
        {
            if (!index.TryGetValue(data[i].Label, out y[i])) throw new ArgumentException($"example {i}: unknown label '{data[i].Label}'");
            tmp.Clear();
            var fe = new FeatureEnumerator(data[i].Text, o.Kind, o.MinN, o.MaxN, o.Buckets - 1, o.MaxChars);
            while (fe.MoveNext(out int f)) tmp.Add(f);
            feats[i] = [.. tmp];
        }
        var order = Enumerable.Range(0, data.Count).ToArray();
        var rng = new Random(o.Seed);
        long total = (long)o.Epochs * data.Count, step = 0;
        Span<float> p = stackalloc float[Stride];
        Span<float> g = stackalloc float[Stride];
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            rng.Shuffle(order);
            double loss = 0;
            foreach (int i in order)
            {
                float lr = o.LearningRate * (1 - (float)step++ / total);
                var fs = feats[i];
                if (fs.Length == 0) continue;
                var sum = Vector512<float>.Zero;
                foreach (int f in fs) sum += Vector512.Create(w.AsSpan(f * Stride, Stride));
                sum = sum / fs.Length + Vector512.Create(bias);
                sum.CopyTo(p);
                Softmax(p[..C], p[..C]);
                loss -= Math.Log(Math.Max(p[y[i]], 1e-12f));
                g.Clear();
                for (int c = 0; c < C; c++) g[c] = (c == y[i] ? 1f : 0f) - p[c];
                var gv = Vector512.Create((ReadOnlySpan<float>)g) * (lr / fs.Length);
                foreach (int f in fs)
                {
                    var row = w.AsSpan(f * Stride, Stride);
                    (Vector512.Create((ReadOnlySpan<float>)row) + gv).CopyTo(row);
                }
                for (int c = 0; c < C; c++) bias[c] += lr * g[c];
            }
            onEpoch?.Invoke(epoch, loss / Math.Max(1, data.Count));
        }
        return model;
    }

    /// <summary>Writes the model (gzip; weights as float16).</summary>
    public void Save(Stream s)
    {
        using var gz = new GZipStream(s, CompressionLevel.SmallestSize, leaveOpen: true);
        using var bw = new BinaryWriter(gz, Encoding.UTF8);
        bw.Write(Magic); bw.Write(1); bw.Write((byte)Kind); bw.Write(MinN); bw.Write(MaxN); bw.Write(Buckets); bw.Write(MaxChars);
        bw.Write(Labels.Count);
        foreach (var l in Labels) bw.Write(l);
        for (int c = 0; c < Labels.Count; c++) bw.Write(_bias[c]);
        var row = new byte[Labels.Count * 2];
        for (int b = 0; b < Buckets; b++)
        {
            for (int c = 0; c < Labels.Count; c++) BitConverter.TryWriteBytes(row.AsSpan(c * 2), (Half)_w[b * Stride + c]);
            bw.Write(row);
        }
    }

    /// <summary>Reads a model written by <see cref="Save"/>; <paramref name="name"/> is used in errors.</summary>
    public static HashedNgramClassifier Load(Stream s, string name)
    {
        try
        {
            using var gz = new GZipStream(s, CompressionMode.Decompress, leaveOpen: true);
            using var br = new BinaryReader(gz, Encoding.UTF8);
            if (br.ReadUInt32() != Magic) throw new InvalidDataException($"{name}: not a SharpLM n-gram classifier");
            int version = br.ReadInt32();
            if (version != 1) throw new InvalidDataException($"{name}: unsupported version {version}");
            var kind = (FeatureKind)br.ReadByte();
            int minN = br.ReadInt32(), maxN = br.ReadInt32(), buckets = br.ReadInt32(), maxChars = br.ReadInt32(), C = br.ReadInt32();
            if (C is < 2 or > Stride || buckets <= 0 || buckets > 1 << 26 || minN < 1 || maxN < minN) throw new InvalidDataException($"{name}: bad header");
            var labels = new string[C];
            for (int c = 0; c < C; c++) labels[c] = br.ReadString();
            var bias = new float[Stride];
            for (int c = 0; c < Stride; c++) bias[c] = c < C ? br.ReadSingle() : -1e4f;
            var w = new float[buckets * Stride];
            var row = new byte[C * 2];
            for (int b = 0; b < buckets; b++)
            {
                br.BaseStream.ReadExactly(row);
                for (int c = 0; c < C; c++) w[b * Stride + c] = (float)BitConverter.ToHalf(row, c * 2);
            }
            return new HashedNgramClassifier(labels, kind, minN, maxN, buckets, maxChars, w, bias);
        }
        catch (EndOfStreamException e) { throw new InvalidDataException($"{name}: truncated model file", e); }
    }
}

/// <summary>Enumerates hashed features of a text without allocating.</summary>
/// <remarks>Char mode: letters lower-cased, every run of non-letters one space, a space at both ends; all n-grams
/// of orders MinN..MaxN ending at each position (the lone space unigram skipped). Word mode: words are runs of
/// letters/digits, lower-cased; all n-grams of words.</remarks>
internal ref struct FeatureEnumerator
{
    private readonly ReadOnlySpan<char> _text;
    private readonly FeatureKind _kind;
    private readonly int _minN, _maxN, _mask;
    private int _pos, _n, _filled;
    private Units6 _h;   // the last six units, newest first
    private Units6 _g;   // hashes of the n-grams ending at the newest unit, n = 1..6
    private bool _started, _needSpace;

    [System.Runtime.CompilerServices.InlineArray(6)]
    private struct Units6 { private ulong _e0; }

    public FeatureEnumerator(ReadOnlySpan<char> text, FeatureKind kind, int minN, int maxN, int mask, int maxChars)
    {
        _text = text.Length > maxChars ? text[..maxChars] : text;
        _kind = kind; _minN = minN; _maxN = Math.Min(maxN, 6); _mask = mask;
        _n = int.MaxValue;
    }

    private void Push(ulong v)
    {
        for (int k = 5; k > 0; k--) _h[k] = _h[k - 1];
        _h[0] = v;
        if (_filled < 6) _filled++;
        // One pass newest → oldest gives the hash of every n-gram ending here (the suffix chain encodes n).
        ulong h = 0xCBF29CE484222325UL;
        int top = Math.Min(_maxN, _filled);
        for (int k = 0; k < top; k++)
        {
            h = (h ^ _h[k]) * 0x100000001B3UL;
            ulong m = h ^ (h >> 31); m *= 0x7FB5D329728EA185UL; m ^= m >> 27;
            _g[k] = m;
        }
    }

    /// <summary>Next feature bucket.</summary>
    public bool MoveNext(out int feature)
    {
        while (true)
        {
            if (_n <= _maxN && _n <= _filled)
            {
                int n = _n++;
                if (_kind == FeatureKind.CharNgrams && n == 1 && _h[0] == ' ') continue;
                feature = (int)(_g[n - 1] & (ulong)_mask);
                return true;
            }
            if (!Advance()) { feature = 0; return false; }
            _n = _minN;
        }
    }

    private bool Advance()
    {
        if (_kind == FeatureKind.CharNgrams)
        {
            if (!_started) { _started = true; Push(' '); return true; }
            while (_pos < _text.Length)
            {
                char c = _text[_pos];
                if (char.IsLetter(c))
                {
                    if (_needSpace) { _needSpace = false; Push(' '); return true; }
                    _pos++;
                    Push(char.ToLowerInvariant(c));
                    return true;
                }
                _pos++;
                if (_h[0] != ' ') _needSpace = true;
            }
            if (_h[0] != ' ') { Push(' '); return true; }
            return false;
        }
        while (_pos < _text.Length && !char.IsLetterOrDigit(_text[_pos])) _pos++;
        if (_pos >= _text.Length) return false;
        ulong w = 0xCBF29CE484222325UL;
        while (_pos < _text.Length && char.IsLetterOrDigit(_text[_pos])) { w = (w ^ char.ToLowerInvariant(_text[_pos])) * 0x100000001B3UL; _pos++; }
        Push(w);
        return true;
    }
}
