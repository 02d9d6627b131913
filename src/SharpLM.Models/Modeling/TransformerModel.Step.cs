// Forward and backward of TransformerModel over preallocated activations (llm.c's gpt2_forward /
// gpt2_backward, generalised to the Llama style). Shapes: B rows, T positions, BT = B·T; C width; NH query
// heads and NKV key/value heads of HS channels (KV = NKV·HS); I the MLP width; V the vocabulary.
// Backward conventions: DRes holds ∂loss/∂(residual stream) and is updated in place layer by layer (each
// norm backward accumulates into it); weight gradients accumulate (+=) so micro-batches add up.
using SharpLM.Models.Config;
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Models.Modeling;

public sealed unsafe partial class TransformerModel
{
    private const int LmHeadChunk = 256;

    /// <summary>Recompute each block's activations in backward instead of storing them (less memory, ≈ one more forward).</summary>
    public bool CheckpointActivations
    {
        get => _checkpoint;
        set { if (value != _checkpoint) { _checkpoint = value; _acts?.Dispose(); _acts = null; } }
    }
    private bool _checkpoint;

    /// <inheritdoc />
    public float ForwardBackward(ReadOnlySpan<int> tokens, int batch, int seq, float gradScale)
    {
        var a = Prepare(tokens, batch, seq, withTargets: true);
        int B = batch, T = seq, BT = B * T;
        Forward(a, B, T);
        ModelKernels.Zero(a.DLn, (long)BT * C);
        float loss = ModelKernels.LmHeadLoss(a.DLn, G(HeadOffset), a.Lnf, W(HeadOffset), a.Targets, BT, C, V,
            (float)_cfg.LogitSoftcap, gradScale, ILanguageModel.IgnoreIndex, a.Logits, a.RowLoss, a.Chunk);
        if (float.IsNaN(loss) && !HasTargets(a.Targets, BT)) return loss;

        // final norm: DRes = ∂/∂x_L
        ModelKernels.Zero(a.DRes, (long)BT * C);
        float* xL = a.Layers[L - 1].Res3;
        if (_gpt2) Norms.LayerNormBackward(a.DRes, G(_lnfW), G(_lnfB), a.DLn, xL, W(_lnfW), a.LnfMean, a.LnfRstd, BT, C);
        else Norms.RmsNormBackward(a.DRes, G(_lnfW), a.DLn, xL, W(_lnfW), a.LnfRstd, BT, C);

        for (int l = L - 1; l >= 0; l--)
        {
            float* x = l == 0 ? a.X0 : a.Layers[l - 1].Res3;
            if (_checkpoint) LayerForward(l, ref a.Layers[l], x, B, T);
            LayerBackward(l, ref a.Layers[l], a, x, B, T);
        }

        Embedding.Backward(G(_wte), a.DRes, a.Inputs, BT, C, Vp);
        if (_wpe >= 0) ModelKernels.PositionsBackward(G(_wpe), a.DRes, B, T, C);
        return loss;
    }

    /// <inheritdoc />
    public float Loss(ReadOnlySpan<int> tokens, int batch, int seq)
    {
        var a = Prepare(tokens, batch, seq, withTargets: true);
        Forward(a, batch, seq);
        return ModelKernels.LmHeadLoss(null, null, a.Lnf, W(HeadOffset), a.Targets, batch * seq, C, V,
            (float)_cfg.LogitSoftcap, 0f, ILanguageModel.IgnoreIndex, a.Logits, a.RowLoss, a.Chunk);
    }

    /// <inheritdoc />
    public void Logits(ReadOnlySpan<int> inputs, int batch, int seq, Span<float> logits)
    {
        int BT = batch * seq;
        if (logits.Length != (long)BT * V) throw new ArgumentException($"logits: destination has {logits.Length} floats, (batch {batch}, seq {seq}, vocab {V}) needs {(long)BT * V}");
        var a = Prepare(inputs, batch, seq, withTargets: false);
        Forward(a, batch, seq);
        fixed (float* z = logits)
        {
            Gemm.Run(false, true, BT, V, C, a.Lnf, C, W(HeadOffset), C, z, V, false); // (BT, V)
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

    private void Forward(Acts a, int B, int T)
    {
        int BT = B * T;
        Embedding.Forward(a.X0, a.Inputs, W(_wte), BT, C, Vp); // (BT, C)
        if (_wpe >= 0) ModelKernels.AddPositions(a.X0, W(_wpe), B, T, C);
        for (int l = 0; l < L; l++)
            LayerForward(l, ref a.Layers[l], l == 0 ? a.X0 : a.Layers[l - 1].Res3, B, T);
        float* xL = a.Layers[L - 1].Res3;
        float eps = (float)_cfg.NormEps;
        if (_gpt2) Norms.LayerNormForward(a.Lnf, a.LnfMean, a.LnfRstd, xL, W(_lnfW), W(_lnfB), BT, C, eps);
        else Norms.RmsNormForward(a.Lnf, a.LnfRstd, xL, W(_lnfW), BT, C, eps);
    }

    // y (BT, out) (= or +=) x (BT, in) · Wᵀ for a Linear weight W (out, in).
    private static void Linear(float* x, float* w, float* y, int BT, int outF, int inF, bool acc) =>
        Gemm.Run(false, true, BT, outF, inF, x, inF, w, inF, y, outF, acc);

    private void LayerForward(int l, ref LayerActs a, float* x, int B, int T)
    {
        ref var o = ref _layers[l];
        int BT = B * T;
        float eps = (float)_cfg.NormEps;
        // ---- attention
        if (_gpt2) Norms.LayerNormForward(a.Ln1, a.Ln1Mean, a.Ln1Rstd, x, W(o.Ln1W), W(o.Ln1B), BT, C, eps);
        else Norms.RmsNormForward(a.Ln1, a.Ln1Rstd, x, W(o.Ln1W), BT, C, eps);
        if (_gpt2)
        {
            // c_attn (C, 3C) split by columns into q, k, v (BT, C) each: no copy, three GEMMs with ldb = 3C.
            for (int j = 0; j < 3; j++)
            {
                float* y = j == 0 ? a.QRaw : j == 1 ? a.KRaw : a.V;
                ModelKernels.InitRows(y, null, W(o.QkvB) + j * C, BT, C, C);
                Gemm.Run(false, false, BT, C, C, a.Ln1, C, W(o.QkvW) + j * C, 3 * C, y, C, true);
            }
        }
        else
        {
            Linear(a.Ln1, W(o.QW), a.QRaw, BT, C, C, false);   // (B, T, NH, HS)
            Linear(a.Ln1, W(o.KW), a.KRaw, BT, KV, C, false);  // (B, T, NKV, HS)
            Linear(a.Ln1, W(o.VW), a.V, BT, KV, C, false);
        }
        if (_cfg.QkNorm) // per-head RMSNorm over HS (rows of HS channels), before RoPE
        {
            Norms.RmsNormForward(a.Q, a.QRstd, a.QRaw, W(o.QNorm), BT * NH, HS, eps);
            Norms.RmsNormForward(a.K, a.KRstd, a.KRaw, W(o.KNorm), BT * NKV, HS, eps);
        }
        if (!_gpt2)
        {
            if (_ropeCos != null)
            {
                Rope.Forward(a.Q, a.Q, _ropeCos, _ropeSin, B, T, NH, HS, RopeStyle.RotateHalf);
                Rope.Forward(a.K, a.K, _ropeCos, _ropeSin, B, T, NKV, HS, RopeStyle.RotateHalf);
            }
        }
        CausalAttention.Forward(a.Att, a.Lse, a.Q, a.K, a.V, B, T, NH, NKV, HS, _slopes); // (B, T, NH, HS), lse (B, NH, T)
        ModelKernels.InitRows(a.Res2, x, _gpt2 ? W(o.OB) : null, BT, C, C);
        if (_gpt2) Gemm.Run(false, false, BT, C, C, a.Att, C, W(o.OW), C, a.Res2, C, true);
        else Linear(a.Att, W(o.OW), a.Res2, BT, C, C, true);

        // ---- MLP
        if (_gpt2)
        {
            Norms.LayerNormForward(a.Ln2, a.Ln2Mean, a.Ln2Rstd, a.Res2, W(o.Ln2W), W(o.Ln2B), BT, C, eps);
            ModelKernels.InitRows(a.H1, null, W(o.FcB), BT, I, I);
            Gemm.Run(false, false, BT, I, C, a.Ln2, C, W(o.FcW), I, a.H1, I, true);   // (BT, I)
            Activations.GeluForward(a.H2, a.H1, (long)BT * I);
            ModelKernels.InitRows(a.Res3, a.Res2, W(o.DownB), BT, C, C);
            Gemm.Run(false, false, BT, C, I, a.H2, I, W(o.DownW), C, a.Res3, C, true); // (BT, C)
        }
        else
        {
            Norms.RmsNormForward(a.Ln2, a.Ln2Rstd, a.Res2, W(o.Ln2W), BT, C, eps);
            Linear(a.Ln2, W(o.FcW), a.H1, BT, I, C, false);  // gate (BT, I)
            Linear(a.Ln2, W(o.UpW), a.H2, BT, I, C, false);  // up (BT, I)
            Activations.SwiGluForward(a.H3, a.H1, a.H2, (long)BT * I);
            ModelKernels.InitRows(a.Res3, a.Res2, null, BT, C, C);
            Linear(a.H3, W(o.DownW), a.Res3, BT, C, I, true);
        }
    }

    // On entry a.DRes = ∂loss/∂(block output); on exit ∂loss/∂(block input x).
    private void LayerBackward(int l, ref LayerActs s, Acts a, float* x, int B, int T)
    {
        ref var o = ref _layers[l];
        int BT = B * T;
        float* dres = a.DRes;
        // ---- MLP
        if (_gpt2)
        {
            ModelKernels.ColSum(G(o.DownB), dres, BT, C, C);
            Gemm.Run(true, false, I, C, BT, s.H2, I, dres, C, G(o.DownW), C, true);   // dW (I, C) += h2ᵀ·dres
            Gemm.Run(false, true, BT, I, C, dres, C, W(o.DownW), C, a.DH2, I, false); // dh2 (BT, I)
            ModelKernels.Zero(a.DH1, (long)BT * I);
            Activations.GeluBackward(a.DH1, s.H1, a.DH2, (long)BT * I);
            ModelKernels.ColSum(G(o.FcB), a.DH1, BT, I, I);
            Gemm.Run(true, false, C, I, BT, s.Ln2, C, a.DH1, I, G(o.FcW), I, true);   // dW (C, I)
            Gemm.Run(false, true, BT, C, I, a.DH1, I, W(o.FcW), I, a.DLn, C, false);  // dln2 (BT, C)
            Norms.LayerNormBackward(dres, G(o.Ln2W), G(o.Ln2B), a.DLn, s.Res2, W(o.Ln2W), s.Ln2Mean, s.Ln2Rstd, BT, C);
        }
        else
        {
            Gemm.Run(true, false, C, I, BT, dres, C, s.H3, I, G(o.DownW), I, true);    // dW (C, I) += dresᵀ·h3
            Gemm.Run(false, false, BT, I, C, dres, C, W(o.DownW), I, a.DH3, I, false); // dh3 (BT, I)
            ModelKernels.Zero(a.DH1, (long)BT * I);
            ModelKernels.Zero(a.DH2, (long)BT * I);
            Activations.SwiGluBackward(a.DH1, a.DH2, s.H1, s.H2, a.DH3, (long)BT * I);
            Gemm.Run(true, false, I, C, BT, a.DH1, I, s.Ln2, C, G(o.FcW), C, true);    // dgate (I, C)
            Gemm.Run(true, false, I, C, BT, a.DH2, I, s.Ln2, C, G(o.UpW), C, true);    // dup (I, C)
            Gemm.Run(false, false, BT, C, I, a.DH1, I, W(o.FcW), C, a.DLn, C, false);  // dln2 (BT, C)
            Gemm.Run(false, false, BT, C, I, a.DH2, I, W(o.UpW), C, a.DLn, C, true);
            Norms.RmsNormBackward(dres, G(o.Ln2W), a.DLn, s.Res2, W(o.Ln2W), s.Ln2Rstd, BT, C);
        }

        // ---- attention
        if (_gpt2)
        {
            ModelKernels.ColSum(G(o.OB), dres, BT, C, C);
            Gemm.Run(true, false, C, C, BT, s.Att, C, dres, C, G(o.OW), C, true);      // dW (C, C) += attᵀ·dres
            Gemm.Run(false, true, BT, C, C, dres, C, W(o.OW), C, a.DAtt, C, false);   // datt (BT, C)
        }
        else
        {
            Gemm.Run(true, false, C, C, BT, dres, C, s.Att, C, G(o.OW), C, true);      // dW (C, C) += dresᵀ·att
            Gemm.Run(false, false, BT, C, C, dres, C, W(o.OW), C, a.DAtt, C, false);  // datt (BT, C)
        }
        CausalAttention.Backward(a.DQ, a.DK, a.DV, a.DAtt, s.Q, s.K, s.V, s.Att, s.Lse, B, T, NH, NKV, HS, _slopes);
        // back through RoPE and QK-norm to the projection outputs
        float* dq = a.DQ, dk = a.DK;
        if (_ropeCos != null)
        {
            ModelKernels.Zero(a.DQPre, (long)BT * C);
            ModelKernels.Zero(a.DKPre, (long)BT * KV);
            Rope.Backward(a.DQPre, dq, _ropeCos, _ropeSin, B, T, NH, HS, RopeStyle.RotateHalf);
            Rope.Backward(a.DKPre, dk, _ropeCos, _ropeSin, B, T, NKV, HS, RopeStyle.RotateHalf);
            dq = a.DQPre; dk = a.DKPre;
        }
        if (_cfg.QkNorm)
        {
            ModelKernels.Zero(a.DQN, (long)BT * C);
            ModelKernels.Zero(a.DKN, (long)BT * KV);
            Norms.RmsNormBackward(a.DQN, G(o.QNorm), dq, s.QRaw, W(o.QNorm), s.QRstd, BT * NH, HS);
            Norms.RmsNormBackward(a.DKN, G(o.KNorm), dk, s.KRaw, W(o.KNorm), s.KRstd, BT * NKV, HS);
            dq = a.DQN; dk = a.DKN;
        }
        if (_gpt2)
        {
            for (int j = 0; j < 3; j++)
            {
                float* dy = j == 0 ? dq : j == 1 ? dk : a.DV;
                ModelKernels.ColSum(G(o.QkvB) + j * C, dy, BT, C, C);
                Gemm.Run(true, false, C, C, BT, s.Ln1, C, dy, C, G(o.QkvW) + j * C, 3 * C, true);     // dW[:, jC:(j+1)C]
                Gemm.Run(false, true, BT, C, C, dy, C, W(o.QkvW) + j * C, 3 * C, a.DLn, C, j > 0);   // dln1 (BT, C)
            }
            Norms.LayerNormBackward(dres, G(o.Ln1W), G(o.Ln1B), a.DLn, x, W(o.Ln1W), s.Ln1Mean, s.Ln1Rstd, BT, C);
        }
        else
        {
            Gemm.Run(true, false, C, C, BT, dq, C, s.Ln1, C, G(o.QW), C, true);       // dWq (C, C)
            Gemm.Run(true, false, KV, C, BT, dk, KV, s.Ln1, C, G(o.KW), C, true);     // dWk (KV, C)
            Gemm.Run(true, false, KV, C, BT, a.DV, KV, s.Ln1, C, G(o.VW), C, true);   // dWv (KV, C)
            Gemm.Run(false, false, BT, C, C, dq, C, W(o.QW), C, a.DLn, C, false);     // dln1 (BT, C)
            Gemm.Run(false, false, BT, C, KV, dk, KV, W(o.KW), C, a.DLn, C, true);
            Gemm.Run(false, false, BT, C, KV, a.DV, KV, W(o.VW), C, a.DLn, C, true);
            Norms.RmsNormBackward(dres, G(o.Ln1W), a.DLn, x, W(o.Ln1W), s.Ln1Rstd, BT, C);
        }
    }

    private struct LayerActs
    {
        public float* Ln1, Ln1Mean, Ln1Rstd, QRaw, KRaw, QRstd, KRstd, Q, K, V, Att, Lse, Res2, Ln2, Ln2Mean, Ln2Rstd, H1, H2, H3, Res3;
    }

    // Every buffer of a step, carved from one allocation sized for (B, T). With activation checkpointing all
    // layers share one set of block activations and keep only their own output (Res3).
    private sealed class Acts : IDisposable
    {
        public readonly int B, T, Chunk;
        public readonly long Bytes;
        private readonly NativeBuffer _buf;
        public readonly int* Inputs, Targets;
        public readonly float* X0, Lnf, LnfMean, LnfRstd, Logits, RowLoss;
        public readonly float* DRes, DLn, DQ, DK, DV, DAtt, DH1, DH2, DH3, DQPre, DKPre, DQN, DKN;
        public readonly LayerActs[] Layers;

        public Acts(TransformerModel m, int B, int T)
        {
            this.B = B; this.T = T;
            long BT = (long)B * T, C = m.C, KV = m.KV, I = m.I;
            Chunk = (int)Math.Min(BT, LmHeadChunk);
            long total = 0;
            long Take(long n) { long off = total; total += (n + 15) & ~15L; return off; } // 64-byte aligned pieces
            long inputs = Take(BT), targets = Take(BT), x0 = Take(BT * C), lnf = Take(BT * C), lnfMean = Take(BT), lnfRstd = Take(BT);
            long logits = Take(Chunk * (long)m.V), rowLoss = Take(Chunk);
            long dres = Take(BT * C), dln = Take(BT * C), dq = Take(BT * C), dk = Take(BT * KV), dv = Take(BT * KV), datt = Take(BT * C);
            long dh1 = Take(BT * I), dh2 = Take(BT * I), dh3 = m._gpt2 ? -1 : Take(BT * I);
            bool rope = m._ropeCos != null, qkn = m._cfg.QkNorm;
            long dqPre = rope ? Take(BT * C) : -1, dkPre = rope ? Take(BT * KV) : -1;
            long dqn = qkn ? Take(BT * C) : -1, dkn = qkn ? Take(BT * KV) : -1;
            int sets = m._checkpoint ? 1 : m.L;
            var per = new long[sets, 19];
            for (int l = 0; l < sets; l++)
            {
                long[] sz = [BT * C, BT, BT, BT * C, BT * KV, BT * KV, BT * C, (long)B * m.NH * T, BT * C, BT * C, BT, BT, BT * I, BT * I, m._gpt2 ? 0 : BT * I,
                    qkn ? BT * C : 0, qkn ? BT * KV : 0, qkn ? BT * m.NH : 0, qkn ? BT * m.NKV : 0];
                for (int k = 0; k < sz.Length; k++) per[l, k] = Take(sz[k]);
            }
            var res3 = new long[m.L];
            for (int l = 0; l < m.L; l++) res3[l] = Take(BT * C);

            Bytes = total * 4;
            _buf = new NativeBuffer(Bytes);
            float* p = (float*)_buf.Pointer;
            Inputs = (int*)(p + inputs); Targets = (int*)(p + targets);
            X0 = p + x0; Lnf = p + lnf; LnfMean = p + lnfMean; LnfRstd = p + lnfRstd; Logits = p + logits; RowLoss = p + rowLoss;
            DRes = p + dres; DLn = p + dln; DQ = p + dq; DK = p + dk; DV = p + dv; DAtt = p + datt; DH1 = p + dh1; DH2 = p + dh2;
            DH3 = dh3 < 0 ? null : p + dh3; DQPre = dqPre < 0 ? null : p + dqPre; DKPre = dkPre < 0 ? null : p + dkPre;
            DQN = dqn < 0 ? null : p + dqn; DKN = dkn < 0 ? null : p + dkn;
            Layers = new LayerActs[m.L];
            for (int l = 0; l < m.L; l++)
            {
                int s = m._checkpoint ? 0 : l;
                Layers[l] = new LayerActs
                {
                    Ln1 = p + per[s, 0], Ln1Mean = p + per[s, 1], Ln1Rstd = p + per[s, 2], Q = p + per[s, 3], K = p + per[s, 4], V = p + per[s, 5],
                    Att = p + per[s, 6], Lse = p + per[s, 7], Res2 = p + per[s, 8], Ln2 = p + per[s, 9], Ln2Mean = p + per[s, 10], Ln2Rstd = p + per[s, 11],
                    H1 = p + per[s, 12], H2 = p + per[s, 13], H3 = m._gpt2 ? null : p + per[s, 14], Res3 = p + res3[l],
                };
                ref var la = ref Layers[l];
                // without QK-norm the projections write q and k directly
                la.QRaw = qkn ? p + per[s, 15] : la.Q; la.KRaw = qkn ? p + per[s, 16] : la.K;
                la.QRstd = qkn ? p + per[s, 17] : null; la.KRstd = qkn ? p + per[s, 18] : null;
            }
        }

        public void Dispose() => _buf.Dispose();
    }
}
