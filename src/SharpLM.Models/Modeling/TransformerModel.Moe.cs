// Mixture-of-experts MLP (Mixtral; HF MixtralSparseMoeBlock): a router (E, C) scores each token, softmax over
// the E experts, the top-k are kept and their probabilities renormalised to sum to 1; each expert is a
// SwiGLU MLP (w1 gate, w3 up, w2 down) run only on the tokens routed to it — tokens are grouped by expert
// (in token order, so the result is deterministic), gathered into contiguous rows, multiplied by the
// expert's weights with the packed GEMM, and scattered back weighted.
// Load balancing (Switch Transformer, Fedus et al. 2021, eq. 4, per layer and summed over layers):
//   aux = E · Σ_e f_e · P_e, f_e = (slots routed to e) / BT (over all k slots, so Σ f = k), P_e = mean_t p_te;
//   f is a constant (argmax), so ∂aux/∂p_te = E · f_e / BT. The gradient of coef·Σ_layers aux is added to the
//   router's; the loss value ForwardBackward returns is the cross-entropy alone (ILanguageModel's contract).
// Backward: dY_row = w·dout_t; dw = dout_t·Y_row; expert backward per group; through the renormalisation
// dp_{i_r} = (dw_r − Σ_s dw_s·w_s)/Z with Z = Σ_s p_{i_s}; then softmax backward and the router GEMMs.
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;

namespace SharpLM.Models.Modeling;

public sealed unsafe partial class TransformerModel
{
    // Per-layer MoE activations kept for backward (R = BT·k routed rows, grouped by expert).
    private struct MoeActs
    {
        public float* Probs, TopW, Frac, Xe, GU, Hh, Ye;
        public int* TopI, RowOf, TokOf, Offsets;
        private long _probs, _topW, _frac, _xe, _gu, _hh, _ye, _topI, _rowOf, _tokOf, _offsets;

        public static MoeActs Plan(TransformerModel m, long BT, Func<long, long> take)
        {
            long R = BT * m._topK, E = m._experts;
            return new MoeActs
            {
                _probs = take(BT * E),
                _topW = take(R),
                _frac = take(E),
                _xe = take(R * m.C),
                _gu = take(R * 2 * m.I),
                _hh = take(R * m.I),
                _ye = take(R * m.C),
                _topI = take(R),
                _rowOf = take(R),
                _tokOf = take(R),
                _offsets = take(E + 1),
            };
        }

        public readonly MoeActs Bind(float* p) => new()
        {
            Probs = p + _probs,
            TopW = p + _topW,
            Frac = p + _frac,
            Xe = p + _xe,
            GU = p + _gu,
            Hh = p + _hh,
            Ye = p + _ye,
            TopI = (int*)(p + _topI),
            RowOf = (int*)(p + _rowOf),
            TokOf = (int*)(p + _tokOf),
            Offsets = (int*)(p + _offsets),
        };
    }

    // Backward scratch shared by all layers.
    private struct MoeScratch
    {
        public float* DYe, DHh, DGU, DXe, DP, DW;
        private long _dye, _dhh, _dgu, _dxe, _dp, _dw;

        public static MoeScratch Plan(TransformerModel m, long BT, Func<long, long> take)
        {
            long R = BT * m._topK;
            return new MoeScratch { _dye = take(R * m.C), _dhh = take(R * m.I), _dgu = take(R * 2 * m.I), _dxe = take(R * m.C), _dp = take(BT * m._experts), _dw = take(R) };
        }

        public readonly MoeScratch Bind(float* p) => new()
        {
            DYe = p + _dye,
            DHh = p + _dhh,
            DGU = p + _dgu,
            DXe = p + _dxe,
            DP = p + _dp,
            DW = p + _dw,
        };
    }

    private long ExpertStride => 3L * I * C; // w1 (I, C), w2 (C, I), w3 (I, C) per expert, consecutive

    // Reads a.Ln2; adds the weighted expert outputs into a.Res3 (already holding the residual).
    private void MoeForward(int l, ref LayerActs a, int BT)
    {
        ref var o = ref _layers[l];
        ref var m = ref a.Moe;
        int E = _experts, K = _topK, R = BT * K;
        LinearW(a.Ln2, o.RouterW, m.Probs, BT, E, C, false); // router logits (BT, E)
        StepProfile.Mark(StepPhase.GemmForward);
        var counts = stackalloc int[E];
        for (int e = 0; e < E; e++) counts[e] = 0;
        for (int t = 0; t < BT; t++)
        {
            float* p = m.Probs + (long)t * E;
            float mx = float.NegativeInfinity;
            for (int e = 0; e < E; e++) mx = MathF.Max(mx, p[e]);
            float sum = 0;
            for (int e = 0; e < E; e++) { p[e] = MathF.Exp(p[e] - mx); sum += p[e]; }
            for (int e = 0; e < E; e++) p[e] /= sum;
            float z = 0;
            for (int s = 0; s < K; s++) // top-k by repeated selection: larger probability first, lower index on ties
            {
                int best = -1;
                for (int e = 0; e < E; e++)
                {
                    bool taken = false;
                    for (int r = 0; r < s; r++) taken |= m.TopI[t * K + r] == e;
                    if (!taken && (best < 0 || p[e] > p[best])) best = e;
                }
                m.TopI[t * K + s] = best; m.TopW[t * K + s] = p[best]; z += p[best];
                counts[best]++;
            }
            for (int s = 0; s < K; s++) m.TopW[t * K + s] /= z;
        }
        m.Offsets[0] = 0;
        for (int e = 0; e < E; e++) { m.Offsets[e + 1] = m.Offsets[e] + counts[e]; m.Frac[e] = counts[e] / (float)BT; counts[e] = 0; }
        for (int t = 0; t < BT; t++)
            for (int s = 0; s < K; s++)
            {
                int e = m.TopI[t * K + s], row = m.Offsets[e] + counts[e]++;
                m.RowOf[t * K + s] = row; m.TokOf[row] = t;
            }
        var gather = new GatherBody { Dst = m.Xe, Src = a.Ln2, Idx = m.TokOf, C = C };
        WorkerPool.For(R, Math.Max(1, 4096 / C), ref gather);
        StepProfile.Mark(StepPhase.Routing);
        for (int e = 0; e < E; e++)
        {
            int r0 = m.Offsets[e], n = m.Offsets[e + 1] - r0;
            if (n == 0) continue;
            long w = o.Experts + e * ExpertStride;
            MatW(false, true, n, I, C, m.Xe + (long)r0 * C, C, w, C, m.GU + (long)r0 * 2 * I, 2 * I, false);                 // gate
            MatW(false, true, n, I, C, m.Xe + (long)r0 * C, C, w + 2L * I * C, C, m.GU + (long)r0 * 2 * I + I, 2 * I, false); // up
        }
        StepProfile.Mark(StepPhase.GemmForward);
        ModelKernels.SwiGluForward(m.Hh, m.GU, R, I); StepProfile.Mark(StepPhase.Activations);
        for (int e = 0; e < E; e++)
        {
            int r0 = m.Offsets[e], n = m.Offsets[e + 1] - r0;
            if (n == 0) continue;
            LinearW(m.Hh + (long)r0 * I, o.Experts + e * ExpertStride + (long)I * C, m.Ye + (long)r0 * C, n, C, I, false); // down (n, C)
        }
        StepProfile.Mark(StepPhase.GemmForward);
        var scatter = new CombineBody { Out = a.Res3, Rows = m.Ye, RowOf = m.RowOf, Weights = m.TopW, K = K, C = C, Accumulate = true };
        WorkerPool.For(BT, Math.Max(1, 4096 / C), ref scatter);
        StepProfile.Mark(StepPhase.Routing);
    }

    // a.DRes = ∂/∂(block output); writes a.DLn = ∂/∂ln2 (experts and router), adds the weight gradients.
    private void MoeBackward(int l, ref LayerActs s, Acts a, int BT, float gradScale)
    {
        ref var o = ref _layers[l];
        ref var m = ref s.Moe;
        var d = a.Moe;
        int E = _experts, K = _topK, R = BT * K;
        var spread = new SpreadBody { DYe = d.DYe, DW = d.DW, Dout = a.DRes, Ye = m.Ye, TokOf = m.TokOf, RowOf = m.RowOf, TopW = m.TopW, K = K, C = C };
        WorkerPool.For(BT, Math.Max(1, 2048 / C), ref spread);
        StepProfile.Mark(StepPhase.Routing);
        for (int e = 0; e < E; e++)
        {
            int r0 = m.Offsets[e], n = m.Offsets[e + 1] - r0;
            if (n == 0) continue;
            long w2 = o.Experts + e * ExpertStride + (long)I * C;
            Gemm.Run(true, false, C, I, n, d.DYe + (long)r0 * C, C, m.Hh + (long)r0 * I, I, G(w2), I, true);  // dW2 (C, I)
            MatW(false, false, n, I, C, d.DYe + (long)r0 * C, C, w2, I, d.DHh + (long)r0 * I, I, false); // dh (n, I)
        }
        StepProfile.Mark(StepPhase.GemmBackward);
        ModelKernels.SwiGluBackward(d.DGU, m.GU, d.DHh, R, I); StepProfile.Mark(StepPhase.Activations);
        for (int e = 0; e < E; e++)
        {
            int r0 = m.Offsets[e], n = m.Offsets[e + 1] - r0;
            if (n == 0) continue;
            long w1 = o.Experts + e * ExpertStride, w3 = w1 + 2L * I * C;
            float* dgu = d.DGU + (long)r0 * 2 * I, xe = m.Xe + (long)r0 * C, dxe = d.DXe + (long)r0 * C;
            Gemm.Run(true, false, I, C, n, dgu, 2 * I, xe, C, G(w1), C, true);          // dW1 (I, C)
            Gemm.Run(true, false, I, C, n, dgu + I, 2 * I, xe, C, G(w3), C, true);      // dW3 (I, C)
            MatW(false, false, n, C, I, dgu, 2 * I, w1, C, dxe, C, false);       // dx (n, C)
            MatW(false, false, n, C, I, dgu + I, 2 * I, w3, C, dxe, C, true);
        }
        StepProfile.Mark(StepPhase.GemmBackward);
        var combine = new CombineBody { Out = a.DLn, Rows = d.DXe, RowOf = m.RowOf, Weights = null, K = K, C = C, Accumulate = false };
        WorkerPool.For(BT, Math.Max(1, 4096 / C), ref combine);

        // router: through the top-k renormalisation, plus the load-balancing term, then the softmax
        float auxScale = gradScale * (float)_cfg.RouterAuxLossCoef * E / BT;
        for (int t = 0; t < BT; t++)
        {
            float* p = m.Probs + (long)t * E, dp = d.DP + (long)t * E;
            for (int e = 0; e < E; e++) dp[e] = auxScale * m.Frac[e];
            float z = 0, dot = 0;
            for (int r = 0; r < K; r++) { z += p[m.TopI[t * K + r]]; dot += d.DW[t * K + r] * m.TopW[t * K + r]; }
            for (int r = 0; r < K; r++) dp[m.TopI[t * K + r]] += (d.DW[t * K + r] - dot) / z;
            float sp = 0;
            for (int e = 0; e < E; e++) sp += dp[e] * p[e];
            for (int e = 0; e < E; e++) dp[e] = p[e] * (dp[e] - sp); // ∂/∂router logits
        }
        StepProfile.Mark(StepPhase.Routing);
        Gemm.Run(true, false, E, C, BT, d.DP, E, s.Ln2, C, G(o.RouterW), C, true);  // dWr (E, C)
        MatW(false, false, BT, C, E, d.DP, E, o.RouterW, C, a.DLn, C, true); // dln2 += dlogits·Wr
        StepProfile.Mark(StepPhase.GemmBackward);
    }

    private struct GatherBody : IParallelBody
    {
        public float* Dst, Src; public int* Idx; public int C;
        public readonly void Execute(int start, int end)
        {
            long bytes = (long)C * sizeof(float);
            for (int r = start; r < end; r++) Buffer.MemoryCopy(Src + (long)Idx[r] * C, Dst + (long)r * C, bytes, bytes);
        }
    }

    // Out[t] (+)= Σ_s w[t, s]·Rows[RowOf[t, s]] (w = 1 when Weights is null), slots in order.
    private struct CombineBody : IParallelBody
    {
        public float* Out, Rows, Weights; public int* RowOf; public int K, C; public bool Accumulate;
        public readonly void Execute(int start, int end)
        {
            for (int t = start; t < end; t++)
            {
                float* o = Out + (long)t * C;
                if (!Accumulate) new Span<float>(o, C).Clear();
                for (int s = 0; s < K; s++)
                    Simd.Axpy(Weights == null ? 1f : Weights[t * K + s], Rows + (long)RowOf[t * K + s] * C, o, C);
            }
        }
    }

    // dYe[row(t, s)] = w[t, s]·dout[t]; dw[t, s] = dout[t]·Ye[row(t, s)].
    private struct SpreadBody : IParallelBody
    {
        public float* DYe, DW, Dout, Ye, TopW; public int* TokOf, RowOf; public int K, C;
        public readonly void Execute(int start, int end)
        {
            for (int t = start; t < end; t++)
            {
                float* g = Dout + (long)t * C;
                for (int s = 0; s < K; s++)
                {
                    int row = RowOf[t * K + s];
                    float* dy = DYe + (long)row * C;
                    new Span<float>(dy, C).Clear();
                    Simd.Axpy(TopW[t * K + s], g, dy, C);
                    DW[t * K + s] = Simd.Dot(g, Ye + (long)row * C, C);
                }
            }
        }
    }
}
