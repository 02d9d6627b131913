using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;
using static SharpLM.Tensors.Tests.Kernels.KernelAssert;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed unsafe class AttentionTests
{
    [Theory]
    [InlineData(1, 1, 1, 1, 1)]
    [InlineData(2, 7, 4, 2, 8)]     // GQA
    [InlineData(1, 33, 3, 1, 16)]   // MQA, odd T across a query-block edge
    [InlineData(1, 70, 2, 2, 13)]   // MHA, T over a key tile, odd head size
    [InlineData(1, 130, 4, 2, 64)]  // several tiles both ways
    [InlineData(2, 200, 4, 1, 32)]  // AVX-512 tile path: MQA, 4 tiles with a partial last one, 32-wide rows
    [InlineData(1, 64, 2, 2, 16)]   // exactly one tile, 16-wide rows
    [InlineData(1, 75, 3, 3, 80)]   // a 64 + 16 column split and a 6-row group tail
    public void FusedMatchesMaterialisedReference(int B, int T, int NH, int NKV, int HS)
    {
        int nq = B * T * NH * HS, nk = B * T * NKV * HS;
        var q = Randn(nq, 1, 1.5f); var k = Randn(nk, 2, 1.5f); var v = Randn(nk, 3); var g = Randn(nq, 4);
        var o = new float[nq]; var lse = new float[B * NH * T];
        var oR = new float[nq]; var lseR = new float[B * NH * T];
        var dq = Randn(nq, 5); var dk = Randn(nk, 6); var dv = Randn(nk, 7);
        var dqR = (float[])dq.Clone(); var dkR = (float[])dk.Clone(); var dvR = (float[])dv.Clone();
        fixed (float* po = o, pl = lse, pq = q, pk = k, pv = v, pg = g, pdq = dq, pdk = dk, pdv = dv)
        {
            Attention.Forward(po, pl, pq, pk, pv, B, T, NH, NKV, HS);
            Attention.Backward(pdq, pdk, pdv, pg, pq, pk, pv, po, pl, B, T, NH, NKV, HS);
        }
        Attention.Reference(oR, lseR, q, k, v, B, T, NH, NKV, HS, g, dqR, dkR, dvR);
        Close(lseR, lse, 1e-5, 1e-5, "lse");
        Close(oR, o, 2e-5, 1e-4, "out");
        Close(dqR, dq, 1e-4, 1e-3, "dq");
        Close(dkR, dk, 1e-4, 1e-3, "dk");
        Close(dvR, dv, 1e-4, 1e-3, "dv");
    }

    [Fact]
    public void ReferenceGradientsMatchFiniteDifferences()
    {
        int B = 1, T = 5, NH = 2, NKV = 1, HS = 3;
        int nq = B * T * NH * HS, nk = B * T * NKV * HS;
        var q = Randn(nq, 11); var k = Randn(nk, 12); var v = Randn(nk, 13); var g = Randn(nq, 14);
        var o = new float[nq]; var lse = new float[B * NH * T];
        var dq = new float[nq]; var dk = new float[nk]; var dv = new float[nk];
        Attention.Reference(o, lse, q, k, v, B, T, NH, NKV, HS, g, dq, dk, dv);
        double L() { Attention.Reference(o, lse, q, k, v, B, T, NH, NKV, HS); return Dot(g, o); }
        for (int i = 0; i < nq; i++) Assert.Equal(Fd(q, i, 1e-2, L), dq[i], 2e-3);
        for (int i = 0; i < nk; i++) { Assert.Equal(Fd(k, i, 1e-2, L), dk[i], 2e-3); Assert.Equal(Fd(v, i, 1e-2, L), dv[i], 2e-3); }
    }

    [Fact]
    public void FirstRowAttendsOnlyToItselfAndMaskIsCausal()
    {
        // out[0] = v[0] exactly; changing a later key/value must not change earlier outputs.
        int T = 9, HS = 4;
        var q = Randn(T * HS, 21); var k = Randn(T * HS, 22); var v = Randn(T * HS, 23);
        var o1 = new float[T * HS]; var o2 = new float[T * HS]; var lse = new float[T];
        fixed (float* pq = q, pk = k, pv = v, p1 = o1, p2 = o2, pl = lse)
        {
            Attention.Forward(p1, pl, pq, pk, pv, 1, T, 1, 1, HS);
            k[(T - 1) * HS] += 5f; v[(T - 1) * HS + 1] -= 3f;
            Attention.Forward(p2, pl, pq, pk, pv, 1, T, 1, 1, HS);
        }
        for (int c = 0; c < HS; c++) Assert.Equal(v[c], o1[c], 6);
        for (int i = 0; i < (T - 1) * HS; i++) Assert.Equal(o1[i], o2[i]);
        Assert.NotEqual(o1[(T - 1) * HS + 1], o2[(T - 1) * HS + 1]);
    }

    [Fact]
    public void BackwardIsBitIdenticalForAnyThreadCount()
    {
        int B = 2, T = 100, NH = 4, NKV = 2, HS = 16;
        int nq = B * T * NH * HS, nk = B * T * NKV * HS;
        var q = Randn(nq, 31); var k = Randn(nk, 32); var v = Randn(nk, 33); var g = Randn(nq, 34);
        float[] Run(int threads)
        {
            int prev = WorkerPool.Threads; WorkerPool.Threads = threads;
            try
            {
                var res = new float[2 * nq + 2 * nk]; var lse = new float[B * NH * T];
                fixed (float* pq = q, pk = k, pv = v, pg = g, r = res, pl = lse)
                {
                    Attention.Forward(r, pl, pq, pk, pv, B, T, NH, NKV, HS);
                    Attention.Backward(r + nq, r + 2 * nq, r + 2 * nq + nk, pg, pq, pk, pv, r, pl, B, T, NH, NKV, HS);
                }
                return res;
            }
            finally { WorkerPool.Threads = prev; }
        }
        Assert.Equal(Run(1), Run(3));
    }

    [Fact]
    public void HeadCountsThatDoNotDivideAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Attention.Forward(null, null, null, null, null, 1, 1, 4, 3, 8));
        Assert.Contains("n_kv_heads 3 must divide n_heads 4", e.Message);
    }
}
