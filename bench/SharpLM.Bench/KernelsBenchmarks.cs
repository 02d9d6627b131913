// BenchmarkDotNet suite for the non-GEMM kernels, each beside its scalar twin as the in-run baseline
// (`dotnet run -c Release --project bench/SharpLM.Bench -- --filter '*Kernels*'`). The quick
// bandwidth-relative figures are `sharplm bench kernels`; this suite is the careful per-call timing.
using BenchmarkDotNet.Attributes;
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Bench;

[MemoryDiagnoser]
public unsafe class KernelsBenchmarks : IDisposable
{
    private const int BT = 1024, C = 768;
    private NativeBuffer _x = null!, _o = null!, _w = null!, _b = null!, _m = null!, _r = null!;
    private float[] _xa = null!, _oa = null!, _wa = null!, _ba = null!, _ma = null!, _ra = null!;

    [GlobalSetup]
    public void Setup()
    {
        _x = new NativeBuffer((long)BT * C * 4); _o = new NativeBuffer((long)BT * C * 4);
        _w = new NativeBuffer(C * 4); _b = new NativeBuffer(C * 4); _m = new NativeBuffer(BT * 4); _r = new NativeBuffer(BT * 4);
        var rnd = new Random(1);
        _xa = new float[BT * C]; _oa = new float[BT * C]; _wa = new float[C]; _ba = new float[C]; _ma = new float[BT]; _ra = new float[BT];
        for (int i = 0; i < _xa.Length; i++) ((float*)_x.Pointer)[i] = _xa[i] = (float)rnd.NextDouble() - 0.5f;
        for (int i = 0; i < C; i++) { ((float*)_w.Pointer)[i] = _wa[i] = 1f; ((float*)_b.Pointer)[i] = _ba[i] = 0f; }
    }

    [Benchmark(Baseline = true)]
    public void LayerNormScalarTwin() => Norms.LayerNormForwardReference(_oa, _ma, _ra, _xa, _wa, _ba, BT, C);

    [Benchmark]
    public void LayerNormFast() => Norms.LayerNormForward((float*)_o.Pointer, (float*)_m.Pointer, (float*)_r.Pointer, (float*)_x.Pointer, (float*)_w.Pointer, (float*)_b.Pointer, BT, C);

    [Benchmark]
    public void SoftmaxFast() => Softmax.Forward((float*)_o.Pointer, (float*)_x.Pointer, BT, C);

    [Benchmark]
    public void GeluFast() => Activations.GeluForward((float*)_o.Pointer, (float*)_x.Pointer, (long)BT * C);

    [GlobalCleanup]
    public void Dispose()
    {
        _x?.Dispose(); _o?.Dispose(); _w?.Dispose(); _b?.Dispose(); _m?.Dispose(); _r?.Dispose();
        GC.SuppressFinalize(this);
    }
}
