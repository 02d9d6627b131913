// Forward and backward of TransformerModel over preallocated activations (llm.c's gpt2_forward /
// gpt2_backward, generalised to the Llama style). Shapes: B rows, T positions, BT = B·T; C width; NH query
// heads and NKV key/value heads of HS channels (KV = NKV·HS); I the MLP width; V the vocabulary.
// Backward conventions: DRes holds ∂loss/∂(residual stream) and is updated in place layer by layer (each
// norm backward accumulates into it); weight gradients accumulate (+=) so micro-batches add up.
// Mixed precision (Bf16Activations, in the manner of autocast's bf16 saved tensors but keeping the forward f32):
// each block computes in one shared f32 working set and keeps bf16 copies (round to nearest even) of its input,
// norm outputs, q/k/v, attention output, attention residual and MLP pre-activation, written by the kernels that
// produce or read them; backward widens them inside its kernels (bf16-operand GEMMs, norm, activation and
// attention backwards) and recomputes the MLP hidden from its pre-activation. Per-row statistics (mean, rstd,
// logsumexp), the residual stream, gradients and master weights stay f32.
using SharpLM.Models.Config;
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;

namespace SharpLM.Models.Modeling;

public sealed unsafe partial class TransformerModel
{
    private const int LmHeadChunk = 256;          // at least this many rows per LM-head chunk
    private const long LmHeadFloats = 8L << 20;   // and up to 32 MB of logits (bigger GEMMs for small vocabularies)

    /// <summary>Recompute each block's activations in backward instead of storing them (less memory, ≈ one more forward).</summary>
    public bool CheckpointActivations
    {
        get => _checkpoint;
        set { if (value != _checkpoint) { _checkpoint = value; _acts?.Dispose(); _acts = null; } }
    }
    private bool _checkpoint;

    /// <summary>
    /// Save the activations backward reads (block inputs, norm outputs, q/k/v, attention output, MLP hidden)
    /// as bf16 (round to nearest even), widened to f32 inside the backward kernels; forward arithmetic,
    /// gradients and accumulation stay f32 and the residual stream is f32. Each block computes in one shared
    /// f32 working set, so stored activations take about half the bytes. Dense MLP without QK-norm only.
    /// With <see cref="CheckpointActivations"/> the recomputed block is kept f32 and this setting has no effect.
    /// </summary>
    public bool Bf16Activations
    {
        get => _bf16Acts;
        set
        {
            if (value == _bf16Acts) return;
            if (value && (_experts > 0 || _cfg.QkNorm))
                throw new NotSupportedException($"bf16 activations support dense-MLP models without QK-norm; this model has {(_experts > 0 ? $"{_experts} experts" : "QK-norm")}");
            _bf16Acts = value; _acts?.Dispose(); _acts = null;
        }
    }
    private bool _bf16Acts;
    private bool SaveBf16 => _bf16Acts && !_checkpoint;

    /// <inheritdoc />
    /// <remarks>When every target is ignored the loss is NaN (as PyTorch's mean over nothing) and no gradient is added.</remarks>
    public float ForwardBackward(ReadOnlySpan<int> tokens, int batch, int seq, float gradScale)
    {
        StepProfile.Start();
        var a = Prepare(tokens, batch, seq, withTargets: true);
        int B = batch, T = seq, BT = B * T;
        RefreshBf16(); StepProfile.Mark(StepPhase.Other);
        Forward(a, B, T, save: true);
        if (!HasTargets(a.Targets, BT))
        {
            if (_gradsDiscarded) ZeroGrad(); // nothing will be written: make the discarded gradients real zeros
            return float.NaN;
        }
        _accW = !BeginBackward(); StepProfile.Mark(StepPhase.Other);
        float loss = ModelKernels.LmHeadLoss(a.DLn, G(HeadOffset), a.Lnf, W(HeadOffset), Wb(HeadOffset), a.Targets, BT, C, V,
            (float)_cfg.LogitSoftcap, gradScale, ILanguageModel.IgnoreIndex, a.Logits, a.RowLoss, a.Chunk, _accW); StepProfile.Mark(StepPhase.LmHead);

        // final norm: DRes = ∂/∂x_L
        ModelKernels.Zero(a.DRes, (long)BT * C); StepProfile.Mark(StepPhase.Other);
        float* xL = a.Layers[L - 1].Res3;
        if (_gpt2) Norms.LayerNormBackward(a.DRes, G(_lnfW), G(_lnfB), a.DLn, xL, W(_lnfW), a.LnfMean, a.LnfRstd, BT, C);
        else Norms.RmsNormBackward(a.DRes, G(_lnfW), a.DLn, xL, W(_lnfW), a.LnfRstd, BT, C); StepProfile.Mark(StepPhase.Norms);

        for (int l = L - 1; l >= 0; l--)
        {
            float* x = l == 0 ? a.X0 : a.Layers[l - 1].Res3;
            if (_checkpoint) LayerForward(l, ref a.Layers[l], x, B, T, save: false);
            LayerBackward(l, ref a.Layers[l], a, x, B, T, gradScale);
        }

        Embedding.Backward(G(_wte), a.DRes, a.Inputs, BT, C, Vp); StepProfile.Mark(StepPhase.Embedding);
        if (_wpe >= 0) ModelKernels.PositionsBackward(G(_wpe), a.DRes, B, T, C); StepProfile.Mark(StepPhase.Embedding);
        _accW = true;
        return loss;
    }

    // Whether the weight-gradient GEMMs of this backward add (+=) or write (=, first backward after DiscardGradients).
    private bool _accW = true;

    /// <inheritdoc />
    public float Loss(ReadOnlySpan<int> tokens, int batch, int seq)
    {
        StepProfile.Start();
        var a = Prepare(tokens, batch, seq, withTargets: true);
        RefreshBf16();
        Forward(a, batch, seq, save: false);
        float loss = ModelKernels.LmHeadLoss(null, null, a.Lnf, W(HeadOffset), Wb(HeadOffset), a.Targets, batch * seq, C, V,
            (float)_cfg.LogitSoftcap, 0f, ILanguageModel.IgnoreIndex, a.Logits, a.RowLoss, a.Chunk); StepProfile.Mark(StepPhase.LmHead);
        return loss;
    }

    /// <inheritdoc />
    public void Logits(ReadOnlySpan<int> inputs, int batch, int seq, Span<float> logits)
    {
        int BT = batch * seq;
        if (logits.Length != (long)BT * V) throw new ArgumentException($"logits: destination has {logits.Length} floats, (batch {batch}, seq {seq}, vocab {V}) needs {(long)BT * V}");
        var a = Prepare(inputs, batch, seq, withTargets: false);
        RefreshBf16();
        Forward(a, batch, seq, save: false);
        fixed (float* z = logits)
        {
            MatW(false, true, BT, V, C, a.Lnf, C, HeadOffset, C, z, V, false); // (BT, V)
            float cap = (float)_cfg.LogitSoftcap;
            if (cap > 0) for (long i = 0; i < (long)BT * V; i++) z[i] = cap * MathF.Tanh(z[i] / cap);
        }
    }

    private long HeadOffset => _lmHead >= 0 ? _lmHead : _wte;

    private static bool HasTargets(int* t, int n)
    {
        for (int i = 0; i < n; i++) if (t[i] != ILanguageModel.IgnoreIndex) return true;
        return false;
    }

    private Acts Prepare(ReadOnlySpan<int> tokens, int B, int T, bool withTargets)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (B <= 0 || T <= 0) throw new ArgumentException($"batch ({B}) and seq ({T}) must be positive");
        if (T > _cfg.MaxPositions) throw new ArgumentException($"seq {T} exceeds the model's max positions {_cfg.MaxPositions}");
        int row = withTargets ? T + 1 : T;
        if (tokens.Length != (long)B * row)
            throw new ArgumentException($"tokens: expected batch {B} × {(withTargets ? "(seq+1)" : "seq")} {row} = {(long)B * row} ids, got {tokens.Length}");
        if (_acts is not { } a || a.B * a.T < B * T || a.T < T)
        {
            _acts?.Dispose();
            _acts = a = new Acts(this, Math.Max(B, _acts?.B ?? 0), Math.Max(T, _acts?.T ?? 0));
        }
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
            {
                int id = tokens[b * row + t];
                if ((uint)id >= (uint)V) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {id} at row {b}, position {t} is outside the vocabulary [0, {V})");
                a.Inputs[b * T + t] = id;
                if (withTargets) a.Targets[b * T + t] = tokens[b * row + t + 1];
            }
        return a;
    }

    // save: keep what backward reads (in bf16 mode the bf16 copies are written only then).
    private void Forward(Acts a, int B, int T, bool save)
    {
        int BT = B * T;
        Embedding.Forward(a.X0, a.Inputs, W(_wte), BT, C, Vp); StepProfile.Mark(StepPhase.Embedding); // (BT, C)
        if (_wpe >= 0) ModelKernels.AddPositions(a.X0, W(_wpe), B, T, C); StepProfile.Mark(StepPhase.Embedding);
        for (int l = 0; l < L; l++)
            LayerForward(l, ref a.Layers[l], l == 0 ? a.X0 : a.Layers[l - 1].Res3, B, T, save);
        float* xL = a.Layers[L - 1].Res3;
        float eps = (float)_cfg.NormEps;
        if (_gpt2) Norms.LayerNormForward(a.Lnf, a.LnfMean, a.LnfRstd, xL, W(_lnfW), W(_lnfB), BT, C, eps);
        else Norms.RmsNormForward(a.Lnf, a.LnfRstd, xL, W(_lnfW), BT, C, eps); StepProfile.Mark(StepPhase.Norms);
    }

    /// <summary>
    /// Run the weight GEMMs on bf16 copies of the weights (refreshed from the f32 master weights at the start of
    /// every forward; activations, gradients and accumulation stay f32). Halves the weight traffic of the
    /// GEMMs; the results differ from f32 by the bf16 rounding of the weights (relative 2⁻⁹).
    /// </summary>
    public bool UseBf16
    {
        get => _bf16 != null;
        set
        {
            if (value == UseBf16) return;
            if (value) _bf16 = new NativeBuffer(Math.Max(2, _values.Length * 2));
            else { _bf16!.Dispose(); _bf16 = null; }
        }
    }
    private NativeBuffer? _bf16;

    private void RefreshBf16()
    {
        if (_bf16 == null) return;
        var body = new NarrowBody { Src = _values.Data, Dst = (ushort*)_bf16.Pointer, N = _values.Length };
        WorkerPool.For((int)((_values.Length + NarrowBlock - 1) / NarrowBlock), 1, ref body);
    }

    private const int NarrowBlock = 1 << 16;

    private struct NarrowBody : IParallelBody
    {
        public float* Src; public ushort* Dst; public long N;
        public readonly void Execute(int start, int end)
        {
            long a = (long)start * NarrowBlock, b = Math.Min(N, (long)end * NarrowBlock);
            BFloat16Convert.FromFloat(Src + a, Dst + a, b - a);
        }
    }

    private ushort* Wb(long off) => _bf16 == null ? null : (ushort*)_bf16.Pointer + off;

    // C (= or +=) op(A)·op(W) for the weight at offset w (its bf16 copy in bf16 mode); with a bias (N floats,
    // not with acc), C = bias + op(A)·op(W), the chains starting from the bias inside the GEMM.
    private void MatW(bool transA, bool transB, int M, int N, int K, float* A, int lda, long w, int ldb, float* Cm, int ldc, bool acc, float* bias = null)
    {
        if (_bf16 != null) Gemm.RunBf16B(transA, transB, M, N, K, A, lda, Wb(w), ldb, Cm, ldc, acc, bias);
        else Gemm.Run(transA, transB, M, N, K, A, lda, W(w), ldb, Cm, ldc, acc, bias);
    }

    // y (BT, out) (= or +=) x (BT, in) · Wᵀ for a Linear weight W (out, in) at offset w.
    private void LinearW(float* x, long w, float* y, int BT, int outF, int inF, bool acc) =>
        MatW(false, true, BT, outF, inF, x, inF, w, inF, y, outF, acc);

    // Without QK-norm, q, k and v are column blocks of one fused projection (BT, C + 2·KV) — GPT-2's c_attn is
    // (C, 3C) and Llama's q/k/v_proj are consecutive rows of the flat buffer — so one GEMM computes all
    // three and attention reads them with row stride QKVW. With QK-norm they are separate dense buffers.
    private int QkvW => C + 2 * KV;
    private bool FusedQkv => !_cfg.QkNorm;

    private void LayerForward(int l, ref LayerActs a, float* x, int B, int T, bool save)
    {
        ref var o = ref _layers[l];
        int BT = B * T, QW = QkvW;
        float eps = (float)_cfg.NormEps;
        // ---- attention (bf16 activations: the norms and attention keep bf16 copies of their outputs as they write them)
        if (_gpt2) Norms.LayerNormForward(a.Ln1, a.Ln1Mean, a.Ln1Rstd, x, W(o.Ln1W), W(o.Ln1B), BT, C, eps, save ? a.Ln1B : null);
        else Norms.RmsNormForward(a.Ln1, a.Ln1Rstd, x, W(o.Ln1W), BT, C, eps, save ? a.Ln1B : null);
        StepProfile.Mark(StepPhase.Norms);
        float* q, k, v; int ldq, ldk;
        if (FusedQkv)
        {
            if (_gpt2)
            {
                MatW(false, false, BT, QW, C, a.Ln1, C, o.QkvW, QW, a.Qkv, QW, false, W(o.QkvB)); // (BT, 3C) = bias + ln1·W
            }
            else LinearW(a.Ln1, o.QW, a.Qkv, BT, QW, C, false);                          // (BT, C + 2KV)
            StepProfile.Mark(StepPhase.GemmForward);
            q = a.Qkv; k = a.Qkv + C; v = a.Qkv + C + KV; ldq = ldk = QW;
        }
        else
        {
            if (_gpt2)
            {
                for (int j = 0; j < 3; j++) // c_attn split by columns (ldb = 3C) into dense q, k, v
                {
                    float* y = j == 0 ? a.QRaw : j == 1 ? a.KRaw : a.V;
                    MatW(false, false, BT, C, C, a.Ln1, C, o.QkvW + j * C, 3 * C, y, C, false, W(o.QkvB) + j * C);
                }
            }
            else
            {
                LinearW(a.Ln1, o.QW, a.QRaw, BT, C, C, false);   // (B, T, NH, HS)
                LinearW(a.Ln1, o.KW, a.KRaw, BT, KV, C, false);  // (B, T, NKV, HS)
                LinearW(a.Ln1, o.VW, a.V, BT, KV, C, false);
            }
            StepProfile.Mark(StepPhase.GemmForward);
            // per-head RMSNorm over HS, before RoPE
            Norms.RmsNormForward(a.Q, a.QRstd, a.QRaw, W(o.QNorm), BT * NH, HS, eps);
            Norms.RmsNormForward(a.K, a.KRstd, a.KRaw, W(o.KNorm), BT * NKV, HS, eps);
            StepProfile.Mark(StepPhase.Norms);
            q = a.Q; k = a.K; v = a.V; ldq = C; ldk = KV;
        }
        if (_ropeCos != null)
        {
            ModelKernels.RopeInPlace(q, ldq, B, T, NH, HS, _ropeCos, _ropeSin, 1f);
            ModelKernels.RopeInPlace(k, ldk, B, T, NKV, HS, _ropeCos, _ropeSin, 1f);
            StepProfile.Mark(StepPhase.Other);
        }
        CausalAttention.Forward(a.Att, a.Lse, q, ldq, k, ldk, v, ldk, B, T, NH, NKV, HS, _slopes, save ? a.AttB : null); // (B, T, NH, HS), lse (B, NH, T)
        StepProfile.Mark(StepPhase.AttentionForward);
        ushort* keep = save ? a.XB : null; // bf16 activations: keep the block input while it is read anyway
        ModelKernels.InitRows(a.Res2, x, _gpt2 ? W(o.OB) : null, BT, C, C, keep); StepProfile.Mark(StepPhase.Other);
        if (_gpt2) MatW(false, false, BT, C, C, a.Att, C, o.OW, C, a.Res2, C, true);
        else LinearW(a.Att, o.OW, a.Res2, BT, C, C, true);
        StepProfile.Mark(StepPhase.GemmForward);

        // ---- MLP
        if (_gpt2) Norms.LayerNormForward(a.Ln2, a.Ln2Mean, a.Ln2Rstd, a.Res2, W(o.Ln2W), W(o.Ln2B), BT, C, eps, save ? a.Ln2B : null);
        else Norms.RmsNormForward(a.Ln2, a.Ln2Rstd, a.Res2, W(o.Ln2W), BT, C, eps, save ? a.Ln2B : null);
        StepProfile.Mark(StepPhase.Norms);
        ModelKernels.InitRows(a.Res3, a.Res2, _gpt2 ? W(o.DownB) : null, BT, C, C, save ? a.Res2B : null);
        StepProfile.Mark(StepPhase.Other);
        if (_experts > 0)
        {
            MoeForward(l, ref a, BT);
        }
        else if (_gpt2)
        {
            MatW(false, false, BT, I, C, a.Ln2, C, o.FcW, I, a.H1, I, false, W(o.FcB)); StepProfile.Mark(StepPhase.GemmForward); // (BT, I) = bias + ln2·W
            ModelKernels.GeluForward(a.H2, a.H1, BT, I, I, save ? a.H1B : null); StepProfile.Mark(StepPhase.Activations);
            MatW(false, false, BT, C, I, a.H2, I, o.DownW, C, a.Res3, C, true); StepProfile.Mark(StepPhase.GemmForward); // (BT, C)
        }
        else
        {
            LinearW(a.Ln2, o.FcW, a.H1, BT, 2 * I, C, false); StepProfile.Mark(StepPhase.GemmForward); // gate|up (BT, 2I)
            ModelKernels.SwiGluForward(a.H2, a.H1, BT, I, save ? a.H1B : null); StepProfile.Mark(StepPhase.Activations); // (BT, I)
            LinearW(a.H2, o.DownW, a.Res3, BT, C, I, true); StepProfile.Mark(StepPhase.GemmForward);
        }
        if (save && a.XB != null)
        {
            // bf16 copies of what backward reads; the f32 working set is reused by the next block
            // (the block input, Res2 and H1 were kept by InitRows and the activation kernel as they read them)
            // (as were Ln1, Att and Ln2 by the norms and attention)
            ModelKernels.ToBf16(a.Qkv, a.QkvB, (long)BT * QW);
            StepProfile.Mark(StepPhase.Other);
        }
    }

    // dW (inF, outF) += Xᵀ·dY (GPT-2 Conv1D layout) for saved input X (BT, inF): f32 x or its bf16 copy xb.
    private static void GradXtY(int inF, int outF, int BT, float* x, ushort* xb, float* dy, int ldy, float* dw, int ldw, bool acc)
    {
        if (xb != null) Gemm.RunBf16A(true, false, inF, outF, BT, xb, inF, dy, ldy, dw, ldw, acc);
        else Gemm.Run(true, false, inF, outF, BT, x, inF, dy, ldy, dw, ldw, acc);
    }

    // dW (outF, inF) += dYᵀ·X (Linear layout) for saved input X (BT, inF): f32 x or its bf16 copy xb.
    private static void GradYtX(int outF, int inF, int BT, float* dy, int ldy, float* x, ushort* xb, float* dw, int ldw, bool acc)
    {
        if (xb != null) Gemm.RunBf16B(true, false, outF, inF, BT, dy, ldy, xb, inF, dw, ldw, acc);
        else Gemm.Run(true, false, outF, inF, BT, dy, ldy, x, inF, dw, ldw, acc);
    }

    // On entry a.DRes = ∂loss/∂(block output); on exit ∂loss/∂(block input x).
    private void LayerBackward(int l, ref LayerActs s, Acts a, float* x, int B, int T, float gradScale)
    {
        ref var o = ref _layers[l];
        int BT = B * T, QW = QkvW;
        float* dres = a.DRes;
        // ---- MLP: DLn = ∂/∂ln2
        if (_experts > 0)
        {
            MoeBackward(l, ref s, a, BT, gradScale);
        }
        else if (_gpt2)
        {
            ModelKernels.ColSum(G(o.DownB), dres, BT, C, C); StepProfile.Mark(StepPhase.Other);
            if (s.H1B != null) ModelKernels.GeluForward(s.H2, s.H1B, BT, I, I);      // h2 recomputed (s.H2 is a.DH2's memory)
            GradXtY(I, C, BT, s.H2, null, dres, C, G(o.DownW), C, _accW);                    // dW (I, C) += h2ᵀ·dres
            MatW(false, true, BT, I, C, dres, C, o.DownW, C, a.DH2, I, false); // dh2 (BT, I)
            StepProfile.Mark(StepPhase.GemmBackward);
            if (s.H1B != null) ModelKernels.GeluBackward(a.DH1, s.H1B, a.DH2, BT, I, I);
            else ModelKernels.GeluBackward(a.DH1, s.H1, a.DH2, BT, I, I);
            StepProfile.Mark(StepPhase.Activations);
            ModelKernels.ColSum(G(o.FcB), a.DH1, BT, I, I); StepProfile.Mark(StepPhase.Other);
            GradXtY(C, I, BT, s.Ln2, s.Ln2B, a.DH1, I, G(o.FcW), I, _accW);                  // dW (C, I)
            MatW(false, true, BT, C, I, a.DH1, I, o.FcW, I, a.DLn, C, false);  // dln2 (BT, C)
            StepProfile.Mark(StepPhase.GemmBackward);
        }
        else
        {
            if (s.H1B != null) ModelKernels.SwiGluForward(s.H2, s.H1B, BT, I);       // h recomputed (s.H2 is a.DH2's memory)
            GradYtX(C, I, BT, dres, C, s.H2, null, G(o.DownW), I, _accW);                    // dW (C, I) += dresᵀ·h
            MatW(false, false, BT, I, C, dres, C, o.DownW, I, a.DH2, I, false); // dh (BT, I)
            StepProfile.Mark(StepPhase.GemmBackward);
            if (s.H1B != null) ModelKernels.SwiGluBackward(a.DH1, s.H1B, a.DH2, BT, I); // d(gate|up) (BT, 2I)
            else ModelKernels.SwiGluBackward(a.DH1, s.H1, a.DH2, BT, I);
            StepProfile.Mark(StepPhase.Activations);
            GradYtX(2 * I, C, BT, a.DH1, 2 * I, s.Ln2, s.Ln2B, G(o.FcW), C, _accW);                // d[gate; up] (2I, C)
            MatW(false, false, BT, C, 2 * I, a.DH1, 2 * I, o.FcW, C, a.DLn, C, false); // dln2 (BT, C)
            StepProfile.Mark(StepPhase.GemmBackward);
        }
        if (s.Res2B != null)
        {
            if (_gpt2) Norms.LayerNormBackward(dres, G(o.Ln2W), G(o.Ln2B), a.DLn, s.Res2B, W(o.Ln2W), s.Ln2Mean, s.Ln2Rstd, BT, C);
            else Norms.RmsNormBackward(dres, G(o.Ln2W), a.DLn, s.Res2B, W(o.Ln2W), s.Ln2Rstd, BT, C);
        }
        else if (_gpt2) Norms.LayerNormBackward(dres, G(o.Ln2W), G(o.Ln2B), a.DLn, s.Res2, W(o.Ln2W), s.Ln2Mean, s.Ln2Rstd, BT, C);
        else Norms.RmsNormBackward(dres, G(o.Ln2W), a.DLn, s.Res2, W(o.Ln2W), s.Ln2Rstd, BT, C);
        StepProfile.Mark(StepPhase.Norms);

        // ---- attention
        if (_gpt2)
        {
            ModelKernels.ColSum(G(o.OB), dres, BT, C, C); StepProfile.Mark(StepPhase.Other);
            GradXtY(C, C, BT, s.Att, s.AttB, dres, C, G(o.OW), C, _accW);                    // dW (C, C) += attᵀ·dres
            MatW(false, true, BT, C, C, dres, C, o.OW, C, a.DAtt, C, false);   // datt (BT, C)
        }
        else
        {
            GradYtX(C, C, BT, dres, C, s.Att, s.AttB, G(o.OW), C, _accW);                    // dW (C, C) += dresᵀ·att
            MatW(false, false, BT, C, C, dres, C, o.OW, C, a.DAtt, C, false);  // datt (BT, C)
        }
        StepProfile.Mark(StepPhase.GemmBackward);
        float* q, k, v, dq, dk, dv; int ldq, ldk;
        if (FusedQkv)
        {
            q = s.Qkv; k = s.Qkv + C; v = s.Qkv + C + KV; ldq = ldk = QW;
            dq = a.DQkv; dk = a.DQkv + C; dv = a.DQkv + C + KV;
        }
        else
        {
            q = s.Q; k = s.K; v = s.V; ldq = C; ldk = KV;
            dq = a.DQkv; dk = dq + (long)BT * C; dv = dk + (long)BT * KV;
        }
        if (s.QkvB != null)
            CausalAttention.Backward(dq, dk, dv, a.DAtt, s.QkvB, QW, s.QkvB + C, QW, s.QkvB + C + KV, QW, s.AttB, s.Lse, B, T, NH, NKV, HS, _slopes);
        else CausalAttention.Backward(dq, dk, dv, a.DAtt, q, ldq, k, ldk, v, ldk, s.Att, s.Lse, B, T, NH, NKV, HS, _slopes);
        StepProfile.Mark(StepPhase.AttentionBackward);
        if (_ropeCos != null) // the inverse rotation, in place
        {
            ModelKernels.RopeInPlace(dq, ldq, B, T, NH, HS, _ropeCos, _ropeSin, -1f);
            ModelKernels.RopeInPlace(dk, ldk, B, T, NKV, HS, _ropeCos, _ropeSin, -1f);
            StepProfile.Mark(StepPhase.Other);
        }
        if (FusedQkv)
        {
            if (_gpt2)
            {
                ModelKernels.ColSum(G(o.QkvB), a.DQkv, BT, QW, QW); StepProfile.Mark(StepPhase.Other);
                GradXtY(C, QW, BT, s.Ln1, s.Ln1B, a.DQkv, QW, G(o.QkvW), QW, _accW);                // dW (C, 3C)
                MatW(false, true, BT, C, QW, a.DQkv, QW, o.QkvW, QW, a.DLn, C, false); // dln1 (BT, C)
            }
            else
            {
                GradYtX(QW, C, BT, a.DQkv, QW, s.Ln1, s.Ln1B, G(o.QW), C, _accW);                   // d[q; k; v]_proj (C + 2KV, C)
                MatW(false, false, BT, C, QW, a.DQkv, QW, o.QW, C, a.DLn, C, false);   // dln1 (BT, C)
            }
            StepProfile.Mark(StepPhase.GemmBackward);
        }
        else
        {
            ModelKernels.Zero(a.DQN, (long)BT * C);
            ModelKernels.Zero(a.DKN, (long)BT * KV);
            StepProfile.Mark(StepPhase.Other);
            Norms.RmsNormBackward(a.DQN, G(o.QNorm), dq, s.QRaw, W(o.QNorm), s.QRstd, BT * NH, HS);
            Norms.RmsNormBackward(a.DKN, G(o.KNorm), dk, s.KRaw, W(o.KNorm), s.KRstd, BT * NKV, HS);
            StepProfile.Mark(StepPhase.Norms);
            if (_gpt2)
            {
                for (int j = 0; j < 3; j++)
                {
                    float* dy = j == 0 ? a.DQN : j == 1 ? a.DKN : dv;
                    ModelKernels.ColSum(G(o.QkvB) + j * C, dy, BT, C, C);
                    Gemm.Run(true, false, C, C, BT, s.Ln1, C, dy, C, G(o.QkvW) + j * C, 3 * C, _accW);     // dW[:, jC:(j+1)C]
                    MatW(false, true, BT, C, C, dy, C, o.QkvW + j * C, 3 * C, a.DLn, C, j > 0);   // dln1 (BT, C)
                }
            }
            else
            {
                Gemm.Run(true, false, C, C, BT, a.DQN, C, s.Ln1, C, G(o.QW), C, _accW);     // dWq (C, C)
                Gemm.Run(true, false, KV, C, BT, a.DKN, KV, s.Ln1, C, G(o.KW), C, _accW);   // dWk (KV, C)
                Gemm.Run(true, false, KV, C, BT, dv, KV, s.Ln1, C, G(o.VW), C, _accW);      // dWv (KV, C)
                MatW(false, false, BT, C, C, a.DQN, C, o.QW, C, a.DLn, C, false);   // dln1 (BT, C)
                MatW(false, false, BT, C, KV, a.DKN, KV, o.KW, C, a.DLn, C, true);
                MatW(false, false, BT, C, KV, dv, KV, o.VW, C, a.DLn, C, true);
            }
            StepProfile.Mark(StepPhase.GemmBackward);
        }
        if (s.XB != null)
        {
            if (_gpt2) Norms.LayerNormBackward(dres, G(o.Ln1W), G(o.Ln1B), a.DLn, s.XB, W(o.Ln1W), s.Ln1Mean, s.Ln1Rstd, BT, C);
            else Norms.RmsNormBackward(dres, G(o.Ln1W), a.DLn, s.XB, W(o.Ln1W), s.Ln1Rstd, BT, C);
        }
        else if (_gpt2) Norms.LayerNormBackward(dres, G(o.Ln1W), G(o.Ln1B), a.DLn, x, W(o.Ln1W), s.Ln1Mean, s.Ln1Rstd, BT, C);
        else Norms.RmsNormBackward(dres, G(o.Ln1W), a.DLn, x, W(o.Ln1W), s.Ln1Rstd, BT, C);
        StepProfile.Mark(StepPhase.Norms);
    }

    private struct LayerActs
    {
        // fused path: Qkv (BT, C + 2KV); QK-norm path: QRaw, KRaw → Q, K (dense) and V (dense)
        public float* Ln1, Ln1Mean, Ln1Rstd, Qkv, QRaw, KRaw, QRstd, KRstd, Q, K, V, Att, Lse, Res2, Ln2, Ln2Mean, Ln2Rstd, H1, H2, Res3;
        public MoeActs Moe;
        // bf16 activations: the saved copies backward reads (null otherwise); XB is the block input
        // (the MLP output H2 is recomputed from H1B in backward, into the working set)
        public ushort* XB, Ln1B, QkvB, AttB, Res2B, Ln2B, H1B;
    }

    // Every buffer of a step, carved from one allocation sized for (B, T). With activation checkpointing all
    // layers share one set of block activations and keep only their own output (Res3). With bf16 activations
    // the large f32 buffers are one shared working set, the residual stream alternates between two f32
    // buffers, and each layer keeps its per-row statistics (f32) and bf16 copies of what backward reads; the
    // backward's gradient scratch for q/k/v, attention output and MLP hidden reuses the idle working set.
    private sealed class Acts : IDisposable
    {
        public readonly int B, T, Chunk;
        public readonly long Bytes;
        private readonly NativeBuffer _buf;
        public readonly int* Inputs, Targets;
        public readonly float* X0, Lnf, LnfMean, LnfRstd, Logits, RowLoss;
        public readonly float* DRes, DLn, DQkv, DAtt, DH1, DH2, DQN, DKN;
        public readonly MoeScratch Moe;
        public readonly LayerActs[] Layers;

        public Acts(TransformerModel m, int B, int T)
        {
            this.B = B; this.T = T;
            long BT = (long)B * T, C = m.C, KV = m.KV, I = m.I, QW = m.QkvW;
            long h1 = m._gpt2 ? BT * I : BT * 2 * I; // GPT-2: pre-GELU; Llama: gate|up
            Chunk = (int)Math.Min(BT, Math.Max(LmHeadChunk, LmHeadFloats / m.V)); // rows of logits per LM-head chunk
            long total = 0;
            long Take(long n) { long off = total; total += (n + 15) & ~15L; return off; } // 64-byte aligned pieces
            long inputs = Take(BT), targets = Take(BT), x0 = Take(BT * C), lnf = Take(BT * C), lnfMean = Take(BT), lnfRstd = Take(BT);
            long logits = Take(Chunk * (long)m.V), rowLoss = Take(Chunk);
            bool bf = m.SaveBf16; // then dqkv, datt, dh1, dh2 reuse the working set's qkv, att, h1, h2 (idle in backward)
            long dres = Take(BT * C), dln = Take(BT * C), dqkv = bf ? -1 : Take(BT * QW), datt = bf ? -1 : Take(BT * C);
            bool moe = m._experts > 0, qkn = m._cfg.QkNorm;
            long dh1 = moe || bf ? -1 : Take(h1), dh2 = moe || bf ? -1 : Take(BT * I);
            long dqn = qkn ? Take(BT * C) : -1, dkn = qkn ? Take(BT * KV) : -1;
            var moeScratch = moe ? MoeScratch.Plan(m, BT, Take) : default;
            int sets = m._checkpoint ? 1 : m.L;
            const int Fields = 19;
            var per = new long[sets, Fields];
            var moeActs = new MoeActs[sets];
            bool[] small = [false, true, true, false, false, false, true, true, false, false, false, false, true, false, false, true, true, false, false];
            for (int l = 0; l < sets; l++)
            {
                long[] sz =
                [
                    BT * C, BT, BT,                                     // Ln1, Ln1Mean, Ln1Rstd
                    qkn ? 0 : BT * QW,                                  // Qkv
                    qkn ? BT * C : 0, qkn ? BT * KV : 0, qkn ? BT * m.NH : 0, qkn ? BT * m.NKV : 0, // QRaw, KRaw, QRstd, KRstd
                    qkn ? BT * C : 0, qkn ? BT * KV : 0, qkn ? BT * KV : 0, // Q, K, V
                    BT * C, (long)B * m.NH * T, BT * C,                 // Att, Lse, Res2
                    BT * C, BT, BT,                                     // Ln2, Ln2Mean, Ln2Rstd
                    moe ? 0 : h1, moe ? 0 : BT * I,                     // H1, H2
                ];
                for (int k = 0; k < sz.Length; k++)
                    per[l, k] = sz[k] == 0 ? -1 : bf && l > 0 && !small[k] ? per[0, k] : Take(sz[k]);
                if (moe) moeActs[l] = MoeActs.Plan(m, BT, Take);
            }
            var res3 = new long[m.L];
            for (int l = 0; l < m.L; l++) res3[l] = bf && l > 1 ? res3[l & 1] : Take(BT * C);
            if (bf) { dqkv = per[0, 3]; datt = per[0, 11]; dh1 = per[0, 17]; dh2 = per[0, 18]; }
            const int BfFields = 7; // XB, Ln1B, QkvB, AttB, Res2B, Ln2B, H1B (H2 is recomputed from H1B)
            var bfOff = new long[bf ? m.L : 0, BfFields];
            for (int l = 0; l < bfOff.GetLength(0); l++)
            {
                long[] sz = [BT * C, BT * C, BT * QW, BT * C, BT * C, BT * C, h1];
                for (int k = 0; k < BfFields; k++) bfOff[l, k] = Take((sz[k] + 1) / 2); // two bf16 per float slot
            }

            Bytes = total * 4;
            _buf = new NativeBuffer(Bytes);
            float* p = (float*)_buf.Pointer;
            float* P(long off) => off < 0 ? null : p + off;
            Inputs = (int*)(p + inputs); Targets = (int*)(p + targets);
            X0 = p + x0; Lnf = p + lnf; LnfMean = p + lnfMean; LnfRstd = p + lnfRstd; Logits = p + logits; RowLoss = p + rowLoss;
            DRes = p + dres; DLn = p + dln; DQkv = p + dqkv; DAtt = p + datt; DH1 = P(dh1); DH2 = P(dh2); DQN = P(dqn); DKN = P(dkn);
            if (moe) Moe = moeScratch.Bind(p);
            Layers = new LayerActs[m.L];
            for (int l = 0; l < m.L; l++)
            {
                int s = m._checkpoint ? 0 : l;
                Layers[l] = new LayerActs
                {
                    Ln1 = P(per[s, 0]),
                    Ln1Mean = P(per[s, 1]),
                    Ln1Rstd = P(per[s, 2]),
                    Qkv = P(per[s, 3]),
                    QRaw = P(per[s, 4]),
                    KRaw = P(per[s, 5]),
                    QRstd = P(per[s, 6]),
                    KRstd = P(per[s, 7]),
                    Q = P(per[s, 8]),
                    K = P(per[s, 9]),
                    V = P(per[s, 10]),
                    Att = P(per[s, 11]),
                    Lse = P(per[s, 12]),
                    Res2 = P(per[s, 13]),
                    Ln2 = P(per[s, 14]),
                    Ln2Mean = P(per[s, 15]),
                    Ln2Rstd = P(per[s, 16]),
                    H1 = P(per[s, 17]),
                    H2 = P(per[s, 18]),
                    Res3 = p + res3[l],
                    Moe = moe ? moeActs[s].Bind(p) : default,
                };
                if (bf)
                {
                    ref var la = ref Layers[l];
                    la.XB = (ushort*)(p + bfOff[l, 0]); la.Ln1B = (ushort*)(p + bfOff[l, 1]); la.QkvB = (ushort*)(p + bfOff[l, 2]);
                    la.AttB = (ushort*)(p + bfOff[l, 3]); la.Res2B = (ushort*)(p + bfOff[l, 4]); la.Ln2B = (ushort*)(p + bfOff[l, 5]);
                    la.H1B = (ushort*)(p + bfOff[l, 6]);
                }
            }
        }

        public void Dispose() => _buf.Dispose();
    }
}
