// The AVX-512 path of Attention (Attention.cs has the contract, layout and the portable path): the same
// FlashAttention-2 algorithm (Dao 2023), but each 64-query × 64-key tile is done as small matrix
// products in registers instead of one dot product and one axpy per (query, key) pair.
//
//   scores  S (64 × 64) = Q_blk · K_tileᵀ   Scores<R>: R query rows × 64 keys = R×4 zmm accumulators,
//                                           one broadcast of q[i, c] and four loads of Kᵀ[c, j0..j0+64)
//                                           per c — the GEMM micro-kernel's register-blocking scheme
//                                           (Goto & van de Geijn 2008) over a K that is pre-transposed
//                                           once per call into tile-major (B, NKV, Tp/64, HS, 64), so no tile is packed.
//   update  C (rows × HS) += A · M          Accum<R>: R output rows × 64 columns in registers, one row
//                                           of M (V, K, dO or Q: contiguous HS floats) and R broadcasts
//                                           of A per k; A is addressed with two strides, so the same
//                                           kernel does P·V, dS·K (row-major A) and Pᵀ·dO, dSᵀ·Q (A read
//                                           transposed straight from the tile buffer).
//
// Query blocks and key tiles are both 64 wide and aligned, so the only masked tile of a query block is
// its diagonal one, and every query row has at least one visible key in every tile it visits. Buffers
// are per-thread scratch reused across calls (no per-tile allocation). Every output element is written
// by exactly one task in a fixed order: results do not depend on the thread count.
// What it is not: a path for head sizes that are not a multiple of 16 (those take the portable path).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

public static unsafe partial class Attention
{
    private const int Tile = 64; // query rows per block = keys per tile

    private static bool FastPath(int HS) => Avx512F.IsSupported && HS % 16 == 0 && HS <= 512;

    // Kᵀ (and Vᵀ) per (b, kv head), tile-major: (B, NKV, Tp/64, HS, 64) with Tp = T rounded up to the
    // tile, zero padded. Tile-major keeps the HS rows a score kernel walks in one contiguous block: with
    // (HS, Tp) rows the stride between them is Tp floats (4 KB at T = 1024), every row falls in the same
    // few L1 sets, and the tile is re-read from L2 on each pass.
    private struct Transpose : IParallelBody
    {
        public float* Src, Dst; public int T, Tp, NKV, HS; public float Mul;
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: straight to optimised code, no OSR
        public readonly void Execute(int start, int end)
        {
            long kStride = (long)NKV * HS;
            for (int task = start; task < end; task++) // task = (b·NKV + kvh)·tiles + tile
            {
                int tiles = Tp / Tile, tile = task % tiles, bk = task / tiles, kvh = bk % NKV, b = bk / NKV;
                float* src = Src + (long)b * T * kStride + (long)kvh * HS, dst = Dst + (long)bk * HS * Tp + (long)tile * HS * Tile;
                int t0 = tile * Tile, t1 = Math.Min(T, t0 + Tile);
                int tg = t0 + (t1 - t0) / 8 * 8; // whole groups of 8 rows: one gather per (c, group)
                var idx = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * (int)kStride;
                var mul = Vector256.Create(Mul);
                for (int c = 0; c < HS; c++)
                {
                    float* d = dst + (long)c * Tile - t0; // d[t] for t in the tile
                    for (int t = t0; t < tg; t += 8) (Avx2.GatherVector256(src + t * kStride + c, idx, 4) * mul).Store(d + t);
                    for (int t = tg; t < t1; t++) d[t] = src[t * kStride + c] * Mul;
                    for (int t = t1; t < t0 + Tile; t++) d[t] = 0f;
                }
            }
        }
    }

    // dst = mul · srcᵀ per (b, kv head). K is stored pre-multiplied by 1/√HS (exact for HS = 4ᵏ), so
    // the score tiles come out already scaled.
    private static void TransposeInto(float* dst, float* k, int B, int T, int NKV, int HS, float mul)
    {
        int Tp = (T + Tile - 1) / Tile * Tile;
        var body = new Transpose { Src = k, Dst = dst, T = T, Tp = Tp, NKV = NKV, HS = HS, Mul = mul };
        WorkerPool.For(B * NKV * (Tp / Tile), 1, ref body);
    }

    private static void ForwardAvx512(float* output, float* lse, float* q, float* k, float* v, int B, int T, int NH, int NKV, int HS)
    {
        int Tp = (T + Tile - 1) / Tile * Tile;
        float* kt = Scratch.Floats(3, (long)B * NKV * HS * Tp);
        TransposeInto(kt, k, B, T, NKV, HS, 1f / MathF.Sqrt(HS));
        int qBlocks = Tp / Tile;
        var body = new FwdTiles { Out = output, Lse = lse, Q = q, Kt = kt, V = v, T = T, Tp = Tp, NH = NH, NKV = NKV, HS = HS, QBlocks = qBlocks };
        WorkerPool.For(B * NH * qBlocks, 1, ref body);
    }

    private static void BackwardAvx512(float* dq, float* dk, float* dv, float* dout, float* q, float* k, float* v, float* lse, float* D, int B, int T, int NH, int NKV, int HS)
    {
        int Tp = (T + Tile - 1) / Tile * Tile;
        long n = (long)B * NKV * HS * Tp;
        float* kt = Scratch.Floats(3, 2 * n), vt = kt + n;
        TransposeInto(kt, k, B, T, NKV, HS, 1f / MathF.Sqrt(HS));
        TransposeInto(vt, v, B, T, NKV, HS, 1f);
        int blocks = Tp / Tile;
        var qBody = new DqTiles { Dq = dq, Dout = dout, Q = q, Kt = kt, Vt = vt, K = k, Lse = lse, D = D, T = T, Tp = Tp, NH = NH, NKV = NKV, HS = HS, Blocks = blocks };
        WorkerPool.For(B * NH * blocks, 1, ref qBody);
        var kvBody = new DkvTiles { Dk = dk, Dv = dv, Dout = dout, Q = q, Kt = kt, Vt = vt, Lse = lse, D = D, T = T, Tp = Tp, NH = NH, NKV = NKV, HS = HS, Blocks = blocks };
        WorkerPool.For(B * NKV * blocks, 1, ref kvBody);
    }

    // dS = P ⊙ (dP − D)·scale with P = e^(S − L) (S already scaled), for the nv visible keys of a row and
    // 0 beyond (entries past nv may hold stale values: they are selected away, never multiplied); P is
    // written over S when keepP, dS over dP.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowDs(float* sr, float* dpr, float scale, float L, float Di, int nv, bool keepP)
    {
        var lv = Vector512.Create(L);
        var e0 = Vector512.Load(sr) - lv; var e1 = Vector512.Load(sr + 16) - lv;
        var e2 = Vector512.Load(sr + 32) - lv; var e3 = Vector512.Load(sr + 48) - lv;
        FastMath.Exp4(ref e0, ref e1, ref e2, ref e3);
        var sv = Vector512.Create(scale); var dv = Vector512.Create(Di);
        var d0 = e0 * (Vector512.Load(dpr) - dv) * sv; var d1 = e1 * (Vector512.Load(dpr + 16) - dv) * sv;
        var d2 = e2 * (Vector512.Load(dpr + 32) - dv) * sv; var d3 = e3 * (Vector512.Load(dpr + 48) - dv) * sv;
        if (nv < Tile)
        {
            var n = Vector512.Create(nv);
            var k0 = Vector512.LessThan(Lanes, n).AsSingle(); var k1 = Vector512.LessThan(Lanes + Vector512.Create(16), n).AsSingle();
            var k2 = Vector512.LessThan(Lanes + Vector512.Create(32), n).AsSingle(); var k3 = Vector512.LessThan(Lanes + Vector512.Create(48), n).AsSingle();
            e0 = Vector512.ConditionalSelect(k0, e0, default); e1 = Vector512.ConditionalSelect(k1, e1, default);
            e2 = Vector512.ConditionalSelect(k2, e2, default); e3 = Vector512.ConditionalSelect(k3, e3, default);
            d0 = Vector512.ConditionalSelect(k0, d0, default); d1 = Vector512.ConditionalSelect(k1, d1, default);
            d2 = Vector512.ConditionalSelect(k2, d2, default); d3 = Vector512.ConditionalSelect(k3, d3, default);
        }
        if (keepP) { e0.Store(sr); e1.Store(sr + 16); e2.Store(sr + 32); e3.Store(sr + 48); }
        d0.Store(dpr); d1.Store(dpr + 16); d2.Store(dpr + 32); d3.Store(dpr + 48);
    }

    // dQ per (b, h, query block): dQ_blk += dS·K over the key tiles up to the diagonal.
    private struct DqTiles : IParallelBody
    {
        public float* Dq, Dout, Q, Kt, Vt, K, Lse, D; public int T, Tp, NH, NKV, HS, Blocks;
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: straight to optimised code, no OSR
        public readonly void Execute(int start, int end)
        {
            float scale = 1f / MathF.Sqrt(HS);
            float* s = Scratch.Floats(2, 2 * Tile * Tile), dp = s + Tile * Tile;
            long qStride = (long)NH * HS, kStride = (long)NKV * HS;
            for (int task = start; task < end; task++)
            {
                int qb = Blocks - 1 - task % Blocks, bh = task / Blocks, h = bh % NH, b = bh / NH, kvh = h / (NH / NKV);
                int i0 = qb * Tile, rows = Math.Min(Tile, T - i0);
                long qOff = ((long)b * T * NH + h) * HS + i0 * qStride;
                float* qBase = Q + qOff, gBase = Dout + qOff, dqBase = Dq + qOff;
                float* kBase = K + ((long)b * T * NKV + kvh) * HS;
                long tOff = ((long)b * NKV + kvh) * HS * Tp;
                float* lseRow = Lse + (long)bh * T + i0, dRow = D + (long)bh * T + i0;
                for (int j0 = 0; j0 <= i0; j0 += Tile)
                {
                    bool diag = j0 == i0;
                    ScoreRows(qBase, qStride, Kt + tOff + (long)j0 * HS, Tile, HS, s, rows, diag);
                    ScoreRows(gBase, qStride, Vt + tOff + (long)j0 * HS, Tile, HS, dp, rows, diag);
                    for (int r = 0; r < rows; r++) RowDs(s + r * Tile, dp + r * Tile, scale, lseRow[r], dRow[r], diag ? r + 1 : Tile, false);
                    AccumRows(dp, Tile, 1, kBase + j0 * kStride, kStride, diag ? 0 : Tile, dqBase, qStride, rows, HS);
                }
            }
        }
    }

    // dK, dV per (b, kv head, key tile): every query head of the group and every query block from the
    // diagonal on, accumulated in a per-thread (64 × HS) buffer and added to dk/dv once at the end.
    private struct DkvTiles : IParallelBody
    {
        public float* Dk, Dv, Dout, Q, Kt, Vt, Lse, D; public int T, Tp, NH, NKV, HS, Blocks;
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: straight to optimised code, no OSR
        public readonly void Execute(int start, int end)
        {
            float scale = 1f / MathF.Sqrt(HS);
            float* s = Scratch.Floats(2, 2 * Tile * Tile + 2L * Tile * HS), dp = s + Tile * Tile, dK = dp + Tile * Tile, dV = dK + Tile * HS;
            long qStride = (long)NH * HS, kStride = (long)NKV * HS;
            int group = NH / NKV;
            for (int task = start; task < end; task++)
            {
                int kb = task % Blocks, bk = task / Blocks, kvh = bk % NKV, b = bk / NKV;
                int j0 = kb * Tile, cols = Math.Min(Tile, T - j0);
                long tOff = ((long)b * NKV + kvh) * HS * Tp;
                new Span<float>(dK, 2 * Tile * HS).Clear();
                for (int hg = 0; hg < group; hg++)
                {
                    int h = kvh * group + hg;
                    float* lseRow = Lse + ((long)b * NH + h) * T, dRow = D + ((long)b * NH + h) * T;
                    for (int i0 = j0; i0 < T; i0 += Tile)
                    {
                        bool diag = i0 == j0;
                        int rows = Math.Min(Tile, T - i0);
                        long qOff = ((long)b * T * NH + h) * HS + i0 * qStride;
                        ScoreRows(Q + qOff, qStride, Kt + tOff + (long)j0 * HS, Tile, HS, s, rows, diag);
                        ScoreRows(Dout + qOff, qStride, Vt + tOff + (long)j0 * HS, Tile, HS, dp, rows, diag);
                        for (int r = 0; r < rows; r++) RowDs(s + r * Tile, dp + r * Tile, scale, lseRow[i0 + r], dRow[i0 + r], diag ? r + 1 : Tile, true);
                        AccumRows(s, 1, Tile, Dout + qOff, qStride, rows, dV, HS, cols, HS);  // dV += Pᵀ·dO
                        AccumRows(dp, 1, Tile, Q + qOff, qStride, rows, dK, HS, cols, HS);    // dK += dSᵀ·Q
                    }
                }
                long kOff = ((long)b * T * NKV + kvh) * HS + j0 * kStride;
                for (int j = 0; j < cols; j++)
                {
                    Simd.Add(dK + j * HS, Dk + kOff + j * kStride, HS);
                    Simd.Add(dV + j * HS, Dv + kOff + j * kStride, HS);
                }
            }
        }
    }

    private struct FwdTiles : IParallelBody
    {
        public float* Out, Lse, Q, Kt, V; public int T, Tp, NH, NKV, HS, QBlocks;
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // long loops: straight to optimised code, no OSR
        public readonly void Execute(int start, int end)
        {
            float* s = Scratch.Floats(2, Tile * Tile + 2L * Tile); // scores/probabilities, then m and l per row
            float* mRow = s + Tile * Tile, lRow = mRow + Tile;
            long qStride = (long)NH * HS, kStride = (long)NKV * HS;
            for (int task = start; task < end; task++)
            {
                // Longest blocks first (the last query block sees the most keys): better balance.
                int qb = QBlocks - 1 - task % QBlocks, bh = task / QBlocks, h = bh % NH, b = bh / NH, kvh = h / (NH / NKV);
                int i0 = qb * Tile, rows = Math.Min(Tile, T - i0);
                float* qBase = Q + ((long)b * T * NH + h) * HS + i0 * qStride, oBase = Out + ((long)b * T * NH + h) * HS + i0 * qStride;
                float* vBase = V + ((long)b * T * NKV + kvh) * HS, kt = Kt + ((long)b * NKV + kvh) * HS * Tp;
                for (int r = 0; r < rows; r++)
                {
                    mRow[r] = float.NegativeInfinity; lRow[r] = 0;
                    new Span<float>(oBase + r * qStride, HS).Clear();
                }
                for (int j0 = 0; j0 <= i0; j0 += Tile)
                {
                    bool diag = j0 == i0;
                    ScoreRows(qBase, qStride, kt + (long)j0 * HS, Tile, HS, s, rows, diag);
                    for (int r = 0; r < rows; r++)
                    {
                        float sum = RowOnline(s + r * Tile, diag ? r + 1 : Tile, ref mRow[r], out float corr); // visible keys: r + 1 on the diagonal
                        lRow[r] = lRow[r] * corr + sum;
                        if (corr != 1f) Simd.Scale(corr, oBase + r * qStride, HS);
                    }
                    // O += P·V; on the diagonal tile row r uses keys < r + 1 (the rest of P is 0).
                    AccumRows(s, Tile, 1, vBase + j0 * kStride, kStride, diag ? 0 : Tile, oBase, qStride, rows, HS);
                }
                float* lseRow = Lse + (long)bh * T + i0;
                for (int r = 0; r < rows; r++)
                {
                    float l = lRow[r];
                    Simd.Scale(1f / l, oBase + r * qStride, HS);
                    lseRow[r] = mRow[r] + MathF.Log(l);
                }
            }
        }
    }

    // One row of the online softmax over a tile (scores already scaled): m ← max(m, max of the nv visible
    // scores), p = e^(s − m) in place (0 beyond nv; stale entries there are selected away). Returns Σ p
    // and the correction e^(m_old − m) for what was accumulated before.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RowOnline(float* sr, int nv, ref float m, out float corr)
    {
        var e0 = Vector512.Load(sr); var e1 = Vector512.Load(sr + 16); var e2 = Vector512.Load(sr + 32); var e3 = Vector512.Load(sr + 48);
        if (nv < Tile) // hidden keys → −∞ (stale values included), whose e^(s − m) is exactly 0
        {
            var n = Vector512.Create(nv); var ninf = Vector512.Create(float.NegativeInfinity);
            e0 = Vector512.ConditionalSelect(Vector512.LessThan(Lanes, n).AsSingle(), e0, ninf);
            e1 = Vector512.ConditionalSelect(Vector512.LessThan(Lanes + Vector512.Create(16), n).AsSingle(), e1, ninf);
            e2 = Vector512.ConditionalSelect(Vector512.LessThan(Lanes + Vector512.Create(32), n).AsSingle(), e2, ninf);
            e3 = Vector512.ConditionalSelect(Vector512.LessThan(Lanes + Vector512.Create(48), n).AsSingle(), e3, ninf);
        }
        float mx = HMax(Avx512F.Max(Avx512F.Max(e0, e1), Avx512F.Max(e2, e3)));
        float mOld = m, mNew = MathF.Max(mOld, mx);
        m = mNew;
        var mv = Vector512.Create(mNew);
        e0 -= mv; e1 -= mv; e2 -= mv; e3 -= mv;
        FastMath.Exp4(ref e0, ref e1, ref e2, ref e3);
        e0.Store(sr); e1.Store(sr + 16); e2.Store(sr + 32); e3.Store(sr + 48);
        corr = FastMath.Exp(mOld - mNew); // 0 on the first tile (m_old = −∞)
        return Vector512.Sum((e0 + e1) + (e2 + e3));
    }

    private static Vector512<int> Lanes => Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HMax(Vector512<float> v)
    {
        var h = Avx.Max(v.GetLower(), v.GetUpper());
        var q = Sse.Max(h.GetLower(), h.GetUpper());
        q = Sse.Max(q, Sse.Shuffle(q, q, 0b01_00_11_10));
        q = Sse.Max(q, Sse.Shuffle(q, q, 0b10_11_00_01));
        return q.ToScalar();
    }

    // s[r, 0..64) = Σ_c a[r·lda + c] · bt[c·ldb + 0..64) for r < rows. On the diagonal tile a group of
    // rows r0..r0+R−1 sees only keys < r0 + R, so only that many 16-key columns are computed (the rest
    // of its S rows is left stale and masked by the row code): the triangle costs about half a tile.
    private static void ScoreRows(float* a, long lda, float* bt, long ldb, int K, float* s, int rows, bool diag)
    {
        for (int r = 0; r < rows; r += 6)
        {
            int R = Math.Min(6, rows - r);
            int nvec = diag ? Math.Min(4, (r + R + 15) >> 4) : 4;
            switch (nvec)
            {
                case 1: ScoreGroup<R1>(a + r * lda, lda, bt, ldb, K, s + r * Tile, R); break;
                case 2: ScoreGroup<R2>(a + r * lda, lda, bt, ldb, K, s + r * Tile, R); break;
                case 3: ScoreGroup<R3>(a + r * lda, lda, bt, ldb, K, s + r * Tile, R); break;
                default: ScoreGroup<R4>(a + r * lda, lda, bt, ldb, K, s + r * Tile, R); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScoreGroup<TC>(float* a, long lda, float* bt, long ldb, int K, float* s, int R) where TC : struct, IRows
    {
        switch (R)
        {
            case 1: Scores<R1, TC>(a, lda, bt, ldb, K, s); break;
            case 2: Scores<R2, TC>(a, lda, bt, ldb, K, s); break;
            case 3: Scores<R3, TC>(a, lda, bt, ldb, K, s); break;
            case 4: Scores<R4, TC>(a, lda, bt, ldb, K, s); break;
            case 5: Scores<R5, TC>(a, lda, bt, ldb, K, s); break;
            default: Scores<R6, TC>(a, lda, bt, ldb, K, s); break;
        }
    }

    // TR rows × TC 16-key columns of scores: TR·TC zmm accumulators, one broadcast per row and TC loads per c.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scores<TR, TC>(float* a, long lda, float* bt, long ldb, int K, float* s) where TR : struct, IRows where TC : struct, IRows
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default,
            c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default,
            c40 = default, c41 = default, c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;
        for (int c = 0; c < K; c++)
        {
            float* b = bt + c * ldb;
            var b0 = Vector512.Load(b);
            Vector512<float> b1 = default, b2 = default, b3 = default;
            if (TC.N > 1) b1 = Vector512.Load(b + 16);
            if (TC.N > 2) b2 = Vector512.Load(b + 32);
            if (TC.N > 3) b3 = Vector512.Load(b + 48);
            if (TR.N > 0) { var x = Vector512.Create(a0[c]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); if (TC.N > 1) c01 = Avx512F.FusedMultiplyAdd(x, b1, c01); if (TC.N > 2) c02 = Avx512F.FusedMultiplyAdd(x, b2, c02); if (TC.N > 3) c03 = Avx512F.FusedMultiplyAdd(x, b3, c03); }
            if (TR.N > 1) { var x = Vector512.Create(a1[c]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); if (TC.N > 1) c11 = Avx512F.FusedMultiplyAdd(x, b1, c11); if (TC.N > 2) c12 = Avx512F.FusedMultiplyAdd(x, b2, c12); if (TC.N > 3) c13 = Avx512F.FusedMultiplyAdd(x, b3, c13); }
            if (TR.N > 2) { var x = Vector512.Create(a2[c]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); if (TC.N > 1) c21 = Avx512F.FusedMultiplyAdd(x, b1, c21); if (TC.N > 2) c22 = Avx512F.FusedMultiplyAdd(x, b2, c22); if (TC.N > 3) c23 = Avx512F.FusedMultiplyAdd(x, b3, c23); }
            if (TR.N > 3) { var x = Vector512.Create(a3[c]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); if (TC.N > 1) c31 = Avx512F.FusedMultiplyAdd(x, b1, c31); if (TC.N > 2) c32 = Avx512F.FusedMultiplyAdd(x, b2, c32); if (TC.N > 3) c33 = Avx512F.FusedMultiplyAdd(x, b3, c33); }
            if (TR.N > 4) { var x = Vector512.Create(a4[c]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); if (TC.N > 1) c41 = Avx512F.FusedMultiplyAdd(x, b1, c41); if (TC.N > 2) c42 = Avx512F.FusedMultiplyAdd(x, b2, c42); if (TC.N > 3) c43 = Avx512F.FusedMultiplyAdd(x, b3, c43); }
            if (TR.N > 5) { var x = Vector512.Create(a5[c]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); if (TC.N > 1) c51 = Avx512F.FusedMultiplyAdd(x, b1, c51); if (TC.N > 2) c52 = Avx512F.FusedMultiplyAdd(x, b2, c52); if (TC.N > 3) c53 = Avx512F.FusedMultiplyAdd(x, b3, c53); }
        }
        StoreRow<TC>(s, c00, c01, c02, c03);
        if (TR.N > 1) StoreRow<TC>(s + Tile, c10, c11, c12, c13);
        if (TR.N > 2) StoreRow<TC>(s + 2 * Tile, c20, c21, c22, c23);
        if (TR.N > 3) StoreRow<TC>(s + 3 * Tile, c30, c31, c32, c33);
        if (TR.N > 4) StoreRow<TC>(s + 4 * Tile, c40, c41, c42, c43);
        if (TR.N > 5) StoreRow<TC>(s + 5 * Tile, c50, c51, c52, c53);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TC>(float* s, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3) where TC : struct, IRows
    {
        v0.Store(s);
        if (TC.N > 1) v1.Store(s + 16);
        if (TC.N > 2) v2.Store(s + 32);
        if (TC.N > 3) v3.Store(s + 48);
    }

    // c[r·ldc + 0..HS) += Σ_{k < K_r} a[r·ars + k·aks] · m[k·ldm + 0..HS) for r < rows, where K_r = kFixed
    // when kFixed > 0, else r + 1 (the causal diagonal: row r has r + 1 non-zero coefficients).
    private static void AccumRows(float* a, long ars, long aks, float* m, long ldm, int kFixed, float* c, long ldc, int rows, int HS)
    {
        for (int c0 = 0; c0 < HS; c0 += 64)
        {
            int w = Math.Min(64, HS - c0); // 16, 32, 48 or 64 columns
            int r = 0;
            for (; r + 6 <= rows; r += 6)
                Accum<R6>(a + r * ars, ars, aks, m + c0, ldm, kFixed > 0 ? kFixed : r + 6, c + r * ldc + c0, ldc, w);
            int left = rows - r, kk = kFixed > 0 ? kFixed : r + left;
            switch (left)
            {
                case 1: Accum<R1>(a + r * ars, ars, aks, m + c0, ldm, kk, c + r * ldc + c0, ldc, w); break;
                case 2: Accum<R2>(a + r * ars, ars, aks, m + c0, ldm, kk, c + r * ldc + c0, ldc, w); break;
                case 3: Accum<R3>(a + r * ars, ars, aks, m + c0, ldm, kk, c + r * ldc + c0, ldc, w); break;
                case 4: Accum<R4>(a + r * ars, ars, aks, m + c0, ldm, kk, c + r * ldc + c0, ldc, w); break;
                case 5: Accum<R5>(a + r * ars, ars, aks, m + c0, ldm, kk, c + r * ldc + c0, ldc, w); break;
            }
        }
    }

    // R rows × w (16..64) columns of c += a·m over K terms; coefficients a beyond a row's own count must be 0.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accum<TR>(float* a, long ars, long aks, float* m, long ldm, int K, float* c, long ldc, int w) where TR : struct, IRows
    {
        if (w == 64) { Accum64<TR>(a, ars, aks, m, ldm, K, c, ldc); return; }
        for (int c0 = 0; c0 < w; c0 += 16) Accum16<TR>(a, ars, aks, m + c0, ldm, K, c + c0, ldc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accum64<TR>(float* a, long ars, long aks, float* m, long ldm, int K, float* c, long ldc) where TR : struct, IRows
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default,
            c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default,
            c40 = default, c41 = default, c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
        float* o0 = c, o1 = c + ldc, o2 = c + 2 * ldc, o3 = c + 3 * ldc, o4 = c + 4 * ldc, o5 = c + 5 * ldc;
        if (TR.N > 0) { c00 = Vector512.Load(o0); c01 = Vector512.Load(o0 + 16); c02 = Vector512.Load(o0 + 32); c03 = Vector512.Load(o0 + 48); }
        if (TR.N > 1) { c10 = Vector512.Load(o1); c11 = Vector512.Load(o1 + 16); c12 = Vector512.Load(o1 + 32); c13 = Vector512.Load(o1 + 48); }
        if (TR.N > 2) { c20 = Vector512.Load(o2); c21 = Vector512.Load(o2 + 16); c22 = Vector512.Load(o2 + 32); c23 = Vector512.Load(o2 + 48); }
        if (TR.N > 3) { c30 = Vector512.Load(o3); c31 = Vector512.Load(o3 + 16); c32 = Vector512.Load(o3 + 32); c33 = Vector512.Load(o3 + 48); }
        if (TR.N > 4) { c40 = Vector512.Load(o4); c41 = Vector512.Load(o4 + 16); c42 = Vector512.Load(o4 + 32); c43 = Vector512.Load(o4 + 48); }
        if (TR.N > 5) { c50 = Vector512.Load(o5); c51 = Vector512.Load(o5 + 16); c52 = Vector512.Load(o5 + 32); c53 = Vector512.Load(o5 + 48); }
        float* a0 = a, a1 = a + ars, a2 = a + 2 * ars, a3 = a + 3 * ars, a4 = a + 4 * ars, a5 = a + 5 * ars;
        for (int k = 0; k < K; k++)
        {
            float* b = m + k * ldm; long ak = k * aks;
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16); var b2 = Vector512.Load(b + 32); var b3 = Vector512.Load(b + 48);
            if (TR.N > 0) { var x = Vector512.Create(a0[ak]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01); c02 = Avx512F.FusedMultiplyAdd(x, b2, c02); c03 = Avx512F.FusedMultiplyAdd(x, b3, c03); }
            if (TR.N > 1) { var x = Vector512.Create(a1[ak]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11); c12 = Avx512F.FusedMultiplyAdd(x, b2, c12); c13 = Avx512F.FusedMultiplyAdd(x, b3, c13); }
            if (TR.N > 2) { var x = Vector512.Create(a2[ak]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21); c22 = Avx512F.FusedMultiplyAdd(x, b2, c22); c23 = Avx512F.FusedMultiplyAdd(x, b3, c23); }
            if (TR.N > 3) { var x = Vector512.Create(a3[ak]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31); c32 = Avx512F.FusedMultiplyAdd(x, b2, c32); c33 = Avx512F.FusedMultiplyAdd(x, b3, c33); }
            if (TR.N > 4) { var x = Vector512.Create(a4[ak]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41); c42 = Avx512F.FusedMultiplyAdd(x, b2, c42); c43 = Avx512F.FusedMultiplyAdd(x, b3, c43); }
            if (TR.N > 5) { var x = Vector512.Create(a5[ak]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51); c52 = Avx512F.FusedMultiplyAdd(x, b2, c52); c53 = Avx512F.FusedMultiplyAdd(x, b3, c53); }
        }
        if (TR.N > 0) { c00.Store(o0); c01.Store(o0 + 16); c02.Store(o0 + 32); c03.Store(o0 + 48); }
        if (TR.N > 1) { c10.Store(o1); c11.Store(o1 + 16); c12.Store(o1 + 32); c13.Store(o1 + 48); }
        if (TR.N > 2) { c20.Store(o2); c21.Store(o2 + 16); c22.Store(o2 + 32); c23.Store(o2 + 48); }
        if (TR.N > 3) { c30.Store(o3); c31.Store(o3 + 16); c32.Store(o3 + 32); c33.Store(o3 + 48); }
        if (TR.N > 4) { c40.Store(o4); c41.Store(o4 + 16); c42.Store(o4 + 32); c43.Store(o4 + 48); }
        if (TR.N > 5) { c50.Store(o5); c51.Store(o5 + 16); c52.Store(o5 + 32); c53.Store(o5 + 48); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accum16<TR>(float* a, long ars, long aks, float* m, long ldm, int K, float* c, long ldc) where TR : struct, IRows
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        if (TR.N > 0) c0 = Vector512.Load(c);
        if (TR.N > 1) c1 = Vector512.Load(c + ldc);
        if (TR.N > 2) c2 = Vector512.Load(c + 2 * ldc);
        if (TR.N > 3) c3 = Vector512.Load(c + 3 * ldc);
        if (TR.N > 4) c4 = Vector512.Load(c + 4 * ldc);
        if (TR.N > 5) c5 = Vector512.Load(c + 5 * ldc);
        for (int k = 0; k < K; k++)
        {
            var b = Vector512.Load(m + k * ldm); long ak = k * aks;
            if (TR.N > 0) c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[ak]), b, c0);
            if (TR.N > 1) c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[ars + ak]), b, c1);
            if (TR.N > 2) c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[2 * ars + ak]), b, c2);
            if (TR.N > 3) c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[3 * ars + ak]), b, c3);
            if (TR.N > 4) c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[4 * ars + ak]), b, c4);
            if (TR.N > 5) c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[5 * ars + ak]), b, c5);
        }
        if (TR.N > 0) c0.Store(c);
        if (TR.N > 1) c1.Store(c + ldc);
        if (TR.N > 2) c2.Store(c + 2 * ldc);
        if (TR.N > 3) c3.Store(c + 3 * ldc);
        if (TR.N > 4) c4.Store(c + 4 * ldc);
        if (TR.N > 5) c5.Store(c + 5 * ldc);
    }
}
