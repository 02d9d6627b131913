// Portable micro-kernel of the f32 GEMM: a 6×8 tile of Vector128 (NEON on ARM64, SSE on x86 without
// AVX2), FMA through Vector128.FusedMultiplyAdd (a single rounding everywhere, so the bits match
// the x86 kernels; emulated in software where the CPU has no FMA). The fallback and the test twin
// of the wider kernels; not tuned. Not a driver.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpLM.Tensors.Kernels;

/// <summary>Portable tile: 6 rows × 8 columns of Vector128 (NEON or SSE; software FMA where the CPU has none).</summary>
internal readonly unsafe struct PortableKernel : IGemmKernel
{
    public static int MR => 6;
    public static int NR => 8;
    public static int KC => 256;
    public static int MC => 144;
    public static bool Wide => false;
    public static bool IsSupported => true;

    public static void Tile(int rows, int kc, float* a, float* b, float* c, nint ldc, bool load)
    {
        switch (rows)
        {
            case 1: T<R1>(kc, a, b, c, ldc, load); break;
            case 2: T<R2>(kc, a, b, c, ldc, load); break;
            case 3: T<R3>(kc, a, b, c, ldc, load); break;
            case 4: T<R4>(kc, a, b, c, ldc, load); break;
            case 5: T<R5>(kc, a, b, c, ldc, load); break;
            default: T<R6>(kc, a, b, c, ldc, load); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void T<TR>(int kc, float* a, float* b, float* c, nint ldc, bool load) where TR : struct, IRows
    {
        Vector128<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        if (load)
        {
            if (TR.N > 0) { c0_0 = Vector128.Load(c); c0_1 = Vector128.Load(c + 4); }
            if (TR.N > 1) { c1_0 = Vector128.Load(c + 1 * ldc); c1_1 = Vector128.Load(c + 1 * ldc + 4); }
            if (TR.N > 2) { c2_0 = Vector128.Load(c + 2 * ldc); c2_1 = Vector128.Load(c + 2 * ldc + 4); }
            if (TR.N > 3) { c3_0 = Vector128.Load(c + 3 * ldc); c3_1 = Vector128.Load(c + 3 * ldc + 4); }
            if (TR.N > 4) { c4_0 = Vector128.Load(c + 4 * ldc); c4_1 = Vector128.Load(c + 4 * ldc + 4); }
            if (TR.N > 5) { c5_0 = Vector128.Load(c + 5 * ldc); c5_1 = Vector128.Load(c + 5 * ldc + 4); }
        }
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            if (TR.N > 0) { var x = Vector128.Create(a[0]); c0_0 = Vector128.FusedMultiplyAdd(x, b0, c0_0); c0_1 = Vector128.FusedMultiplyAdd(x, b1, c0_1); }
            if (TR.N > 1) { var x = Vector128.Create(a[1]); c1_0 = Vector128.FusedMultiplyAdd(x, b0, c1_0); c1_1 = Vector128.FusedMultiplyAdd(x, b1, c1_1); }
            if (TR.N > 2) { var x = Vector128.Create(a[2]); c2_0 = Vector128.FusedMultiplyAdd(x, b0, c2_0); c2_1 = Vector128.FusedMultiplyAdd(x, b1, c2_1); }
            if (TR.N > 3) { var x = Vector128.Create(a[3]); c3_0 = Vector128.FusedMultiplyAdd(x, b0, c3_0); c3_1 = Vector128.FusedMultiplyAdd(x, b1, c3_1); }
            if (TR.N > 4) { var x = Vector128.Create(a[4]); c4_0 = Vector128.FusedMultiplyAdd(x, b0, c4_0); c4_1 = Vector128.FusedMultiplyAdd(x, b1, c4_1); }
            if (TR.N > 5) { var x = Vector128.Create(a[5]); c5_0 = Vector128.FusedMultiplyAdd(x, b0, c5_0); c5_1 = Vector128.FusedMultiplyAdd(x, b1, c5_1); }
            a += 6; b += 8;
        }
        if (TR.N > 0) { c0_0.Store(c); c0_1.Store(c + 4); }
        if (TR.N > 1) { c1_0.Store(c + 1 * ldc); c1_1.Store(c + 1 * ldc + 4); }
        if (TR.N > 2) { c2_0.Store(c + 2 * ldc); c2_1.Store(c + 2 * ldc + 4); }
        if (TR.N > 3) { c3_0.Store(c + 3 * ldc); c3_1.Store(c + 3 * ldc + 4); }
        if (TR.N > 4) { c4_0.Store(c + 4 * ldc); c4_1.Store(c + 4 * ldc + 4); }
        if (TR.N > 5) { c5_0.Store(c + 5 * ldc); c5_1.Store(c + 5 * ldc + 4); }
    }
}
