// CausalAttention (GEMM-tiled, FlashAttention-2 blocking) against a scalar reference written here in double
// precision (P materialised, textbook softmax backward), at a length that spans several 64-row query blocks
// and a ragged last block, with grouped-query heads, strided (fused-QKV) inputs, and ALiBi biases. The
// whole-model golden tests only reach T ≤ 12, one block.
using SharpLM.Models.Modeling;

namespace SharpLM.Models.Tests.Modeling;

public sealed unsafe class CausalAttentionTests
{
    private static void Reference(double[] o, double[] lse, float[] q, float[] k, float[] v, float[] dout, double[] dq, double[] dk, double[] dv,
        int B, int T, int NH, int NKV, int HS, float[]? slopes)
    {
        int C = NH * HS, KV = NKV * HS;
        double scale = 1 / Math.Sqrt(HS);
        var P = new double[T * T];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
            {
                int kh = h / (NH / NKV);
                for (int i = 0; i < T; i++)
                {
                    double m = double.NegativeInfinity;
                    for (int j = 0; j <= i; j++)
                    {
                        double s = 0;
                        for (int c = 0; c < HS; c++) s += (double)q[(b * T + i) * C + h * HS + c] * k[(b * T + j) * KV + kh * HS + c];
                        s = s * scale + (slopes == null ? 0 : slopes[h] * (double)(j - i));
                        P[i * T + j] = s; m = Math.Max(m, s);
                    }
                    double z = 0;
                    for (int j = 0; j <= i; j++) { P[i * T + j] = Math.Exp(P[i * T + j] - m); z += P[i * T + j]; }
                    for (int j = 0; j <= i; j++) P[i * T + j] /= z;
                    lse[(b * NH + h) * T + i] = m + Math.Log(z);
                    for (int c = 0; c < HS; c++)
                    {
                        double acc = 0;
                        for (int j = 0; j <= i; j++) acc += P[i * T + j] * v[(b * T + j) * KV + kh * HS + c];
                        o[(b * T + i) * C + h * HS + c] = acc;
                    }
                }
                for (int i = 0; i < T; i++)
                {
                    var dP = new double[i + 1];
                    double D = 0;
                    for (int j = 0; j <= i; j++)
                    {
                        double s = 0;
                        for (int c = 0; c < HS; c++) s += (double)dout[(b * T + i) * C + h * HS + c] * v[(b * T + j) * KV + kh * HS + c];
                        dP[j] = s; D += s * P[i * T + j];
                    }
                    for (int j = 0; j <= i; j++)
                    {
                        double ds = P[i * T + j] * (dP[j] - D) * scale;
                        for (int c = 0; c < HS; c++)
                        {
                            dq[(b * T + i) * C + h * HS + c] += ds * k[(b * T + j) * KV + kh * HS + c];
                            dk[(b * T + j) * KV + kh * HS + c] += ds * q[(b * T + i) * C + h * HS + c];
                            dv[(b * T + j) * KV + kh * HS + c] += P[i * T + j] * dout[(b * T + i) * C + h * HS + c];
                        }
                    }
                }
            }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void MatchesTheScalarReferenceAcrossBlocks(bool strided, bool alibi)
    {
        int B = 2, T = 150, NH = 6, NKV = 2, HS = 16, C = NH * HS, KV = NKV * HS, BT = B * T;
        var r = new Random(17);
        float[] Rand(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 2 - 1); return a; }
        float[] q = Rand(BT * C), k = Rand(BT * KV), v = Rand(BT * KV), dout = Rand(BT * C);
        float[]? slopes = alibi ? CausalAttention.AlibiSlopes(NH) : null;
        var o = new double[BT * C]; var lse = new double[B * NH * T];
        var dq = new double[BT * C]; var dk = new double[BT * KV]; var dv = new double[BT * KV];
        Reference(o, lse, q, k, v, dout, dq, dk, dv, B, T, NH, NKV, HS, slopes);

        int ld = strided ? C + 2 * KV : 0;
        var qkv = new float[BT * (C + 2 * KV)];
        var dqkv = new float[BT * (C + 2 * KV)];
        if (strided)
            for (int t = 0; t < BT; t++)
            {
                Array.Copy(q, t * C, qkv, t * ld, C);
                Array.Copy(k, t * KV, qkv, t * ld + C, KV);
                Array.Copy(v, t * KV, qkv, t * ld + C + KV, KV);
            }
        var oF = new float[BT * C]; var lseF = new float[B * NH * T];
        var dqF = new float[BT * C]; var dkF = new float[BT * KV]; var dvF = new float[BT * KV];
        fixed (float* pq = q, pk = k, pv = v, pd = dout, po = oF, pl = lseF, pdq = dqF, pdk = dkF, pdv = dvF, px = qkv, pdx = dqkv, ps = slopes)
        {
            if (strided)
            {
                CausalAttention.Forward(po, pl, px, ld, px + C, ld, px + C + KV, ld, B, T, NH, NKV, HS, ps);
                CausalAttention.Backward(pdx, pdx + C, pdx + C + KV, pd, px, ld, px + C, ld, px + C + KV, ld, po, pl, B, T, NH, NKV, HS, ps);
                for (int t = 0; t < BT; t++)
                {
                    Array.Copy(dqkv, t * ld, dqF, t * C, C);
                    Array.Copy(dqkv, t * ld + C, dkF, t * KV, KV);
                    Array.Copy(dqkv, t * ld + C + KV, dvF, t * KV, KV);
                }
            }
            else
            {
                CausalAttention.Forward(po, pl, pq, pk, pv, B, T, NH, NKV, HS, ps);
                CausalAttention.Backward(pdq, pdk, pdv, pd, pq, pk, pv, po, pl, B, T, NH, NKV, HS, ps);
            }
        }
        // f32 with reductions over ≤ 150 keys of O(1) terms: 2e-5 absolute covers the rounding with margin.
        Close(o, oF, 2e-5, "out"); Close(lse, lseF, 2e-5, "lse");
        Close(dq, dqF, 5e-5, "dq"); Close(dk, dkF, 5e-5, "dk"); Close(dv, dvF, 5e-5, "dv");
    }

    // bf16 saved q/k/v/out (bf16 activations): the backward widens each head exactly and runs the f32 code,
    // so it must equal the f32 strided backward given the widened values, bit for bit (GEMM results do not
    // depend on row strides), and so inherits the reference check above.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Bf16BackwardEqualsTheF32BackwardOnWidenedInputs(bool alibi)
    {
        int B = 2, T = 150, NH = 6, NKV = 2, HS = 16, C = NH * HS, KV = NKV * HS, BT = B * T, ld = C + 2 * KV;
        var r = new Random(23);
        var qkvB = new ushort[BT * ld]; var qkvW = new float[BT * ld];
        for (int i = 0; i < qkvB.Length; i++) { qkvB[i] = Tensors.BFloat16.FromFloat((float)(r.NextDouble() * 2 - 1)); qkvW[i] = Tensors.BFloat16.ToFloat(qkvB[i]); }
        var dout = new float[BT * C]; for (int i = 0; i < dout.Length; i++) dout[i] = (float)(r.NextDouble() * 2 - 1);
        float[]? slopes = alibi ? CausalAttention.AlibiSlopes(NH) : null;
        var o = new float[BT * C]; var lse = new float[B * NH * T];
        var oB = new ushort[BT * C]; var oW = new float[BT * C];
        var want = new float[BT * ld]; var got = new float[BT * ld];
        fixed (float* px = qkvW, pd = dout, po = o, pl = lse, pow = oW, pw = want, pg = got, ps = slopes)
        fixed (ushort* pxb = qkvB, pob = oB)
        {
            CausalAttention.Forward(po, pl, px, ld, px + C, ld, px + C + KV, ld, B, T, NH, NKV, HS, ps);
            for (int i = 0; i < o.Length; i++) { oB[i] = Tensors.BFloat16.FromFloat(o[i]); oW[i] = Tensors.BFloat16.ToFloat(oB[i]); }
            CausalAttention.Backward(pw, pw + C, pw + C + KV, pd, px, ld, px + C, ld, px + C + KV, ld, pow, pl, B, T, NH, NKV, HS, ps);
            CausalAttention.Backward(pg, pg + C, pg + C + KV, pd, pxb, ld, pxb + C, ld, pxb + C + KV, ld, pob, pl, B, T, NH, NKV, HS, ps);
        }
        for (int i = 0; i < want.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]), $"d(qkv)[{i}]: bf16 path {got[i]:R} vs f32 path {want[i]:R}");
    }

    private static void Close(double[] want, float[] got, double tol, string what)
    {
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= tol * Math.Max(1, Math.Abs(want[i])), $"{what}[{i}]: {got[i]} vs reference {want[i]}");
    }

    [Fact]
    public void AlibiSlopesFollowPressEtAl()
    {
        // 8 heads: 2^-1 … 2^-8; 6 heads: the 4-head slopes 2^-2, 2^-4, 2^-6, 2^-8 then every other 8-head slope 2^-1, 2^-3
        var s8 = CausalAttention.AlibiSlopes(8);
        for (int h = 0; h < 8; h++) Assert.Equal(Math.Pow(2, -(h + 1)), s8[h], 6);
        Assert.Equal([0.25f, 0.0625f, 0.015625f, 0.00390625f, 0.5f, 0.125f], CausalAttention.AlibiSlopes(6));
    }
}
