// AVX-512 micro-kernel of the f32 GEMM: C[rows, 0..32) (= or +=) Σ_k a[k][row] · b[k][0..32) over packed
// panels (A: MR=14 floats per k, B: NR=32 floats per k), 28 zmm accumulators held in registers across
// the whole k loop, one broadcast of A per row (folded by the JIT into the FMA as an embedded
// {1to16} broadcast) and two B vectors per k — the BLIS/Goto register-blocking scheme (Goto & van de
// Geijn, "Anatomy of High-Performance Matrix Multiplication", 2008). Not a driver: blocking, packing
// and threading are in GemmDriver.cs. The code is regular by construction (one line per tile row);
// `rows` < MR instantiates the same body with fewer live rows, so M tails cost only what they use.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpLM.Tensors.Kernels;

/// <summary>AVX-512 tile: 14 rows × 32 columns (28 zmm accumulators, 2 B vectors, 1 broadcast).</summary>
internal readonly unsafe struct Avx512Kernel : IGemmKernel
{
    public static int MR => 14;
    public static int NR => 32;
    public static int KC => 256;
    // 32 panels: a 448×256 packed A block is 448 KB, under half a 1 MB L2 with the 32 KB B panel and C
    // tiles beside it. Large enough that a 384-row weight gradient over K = 4096 is one row block, so B is
    // packed once instead of once per block (280 rows split it in two: 0.67 → 0.79 of the peak on one thread).
    public static int MC => 448;
    public static bool Wide => true;
    public static bool IsSupported => Avx512F.IsSupported;

    public static void Tile(int rows, int kc, float* a, float* b, float* c, nint ldc, bool load)
    {
        switch (rows)
        {
            case 1: T<R1>(kc, a, b, c, ldc, load); break;
            case 2: T<R2>(kc, a, b, c, ldc, load); break;
            case 3: T<R3>(kc, a, b, c, ldc, load); break;
            case 4: T<R4>(kc, a, b, c, ldc, load); break;
            case 5: T<R5>(kc, a, b, c, ldc, load); break;
            case 6: T<R6>(kc, a, b, c, ldc, load); break;
            case 7: T<R7>(kc, a, b, c, ldc, load); break;
            case 8: T<R8>(kc, a, b, c, ldc, load); break;
            case 9: T<R9>(kc, a, b, c, ldc, load); break;
            case 10: T<R10>(kc, a, b, c, ldc, load); break;
            case 11: T<R11>(kc, a, b, c, ldc, load); break;
            case 12: T<R12>(kc, a, b, c, ldc, load); break;
            case 13: T<R13>(kc, a, b, c, ldc, load); break;
            default: T<R14>(kc, a, b, c, ldc, load); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void T<TR>(int kc, float* a, float* b, float* c, nint ldc, bool load) where TR : struct, IRows
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default, c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default, c6_0 = default, c6_1 = default, c7_0 = default, c7_1 = default, c8_0 = default, c8_1 = default, c9_0 = default, c9_1 = default, c10_0 = default, c10_1 = default, c11_0 = default, c11_1 = default, c12_0 = default, c12_1 = default, c13_0 = default, c13_1 = default;
        if (load)
        {
            if (TR.N > 0) { c0_0 = Vector512.Load(c); c0_1 = Vector512.Load(c + 16); }
            if (TR.N > 1) { c1_0 = Vector512.Load(c + 1 * ldc); c1_1 = Vector512.Load(c + 1 * ldc + 16); }
            if (TR.N > 2) { c2_0 = Vector512.Load(c + 2 * ldc); c2_1 = Vector512.Load(c + 2 * ldc + 16); }
            if (TR.N > 3) { c3_0 = Vector512.Load(c + 3 * ldc); c3_1 = Vector512.Load(c + 3 * ldc + 16); }
            if (TR.N > 4) { c4_0 = Vector512.Load(c + 4 * ldc); c4_1 = Vector512.Load(c + 4 * ldc + 16); }
            if (TR.N > 5) { c5_0 = Vector512.Load(c + 5 * ldc); c5_1 = Vector512.Load(c + 5 * ldc + 16); }
            if (TR.N > 6) { c6_0 = Vector512.Load(c + 6 * ldc); c6_1 = Vector512.Load(c + 6 * ldc + 16); }
            if (TR.N > 7) { c7_0 = Vector512.Load(c + 7 * ldc); c7_1 = Vector512.Load(c + 7 * ldc + 16); }
            if (TR.N > 8) { c8_0 = Vector512.Load(c + 8 * ldc); c8_1 = Vector512.Load(c + 8 * ldc + 16); }
            if (TR.N > 9) { c9_0 = Vector512.Load(c + 9 * ldc); c9_1 = Vector512.Load(c + 9 * ldc + 16); }
            if (TR.N > 10) { c10_0 = Vector512.Load(c + 10 * ldc); c10_1 = Vector512.Load(c + 10 * ldc + 16); }
            if (TR.N > 11) { c11_0 = Vector512.Load(c + 11 * ldc); c11_1 = Vector512.Load(c + 11 * ldc + 16); }
            if (TR.N > 12) { c12_0 = Vector512.Load(c + 12 * ldc); c12_1 = Vector512.Load(c + 12 * ldc + 16); }
            if (TR.N > 13) { c13_0 = Vector512.Load(c + 13 * ldc); c13_1 = Vector512.Load(c + 13 * ldc + 16); }
        }
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            if (TR.N > 0) { var x = Vector512.Create(a[0]); c0_0 = Avx512F.FusedMultiplyAdd(x, b0, c0_0); c0_1 = Avx512F.FusedMultiplyAdd(x, b1, c0_1); }
            if (TR.N > 1) { var x = Vector512.Create(a[1]); c1_0 = Avx512F.FusedMultiplyAdd(x, b0, c1_0); c1_1 = Avx512F.FusedMultiplyAdd(x, b1, c1_1); }
            if (TR.N > 2) { var x = Vector512.Create(a[2]); c2_0 = Avx512F.FusedMultiplyAdd(x, b0, c2_0); c2_1 = Avx512F.FusedMultiplyAdd(x, b1, c2_1); }
            if (TR.N > 3) { var x = Vector512.Create(a[3]); c3_0 = Avx512F.FusedMultiplyAdd(x, b0, c3_0); c3_1 = Avx512F.FusedMultiplyAdd(x, b1, c3_1); }
            if (TR.N > 4) { var x = Vector512.Create(a[4]); c4_0 = Avx512F.FusedMultiplyAdd(x, b0, c4_0); c4_1 = Avx512F.FusedMultiplyAdd(x, b1, c4_1); }
            if (TR.N > 5) { var x = Vector512.Create(a[5]); c5_0 = Avx512F.FusedMultiplyAdd(x, b0, c5_0); c5_1 = Avx512F.FusedMultiplyAdd(x, b1, c5_1); }
            if (TR.N > 6) { var x = Vector512.Create(a[6]); c6_0 = Avx512F.FusedMultiplyAdd(x, b0, c6_0); c6_1 = Avx512F.FusedMultiplyAdd(x, b1, c6_1); }
            if (TR.N > 7) { var x = Vector512.Create(a[7]); c7_0 = Avx512F.FusedMultiplyAdd(x, b0, c7_0); c7_1 = Avx512F.FusedMultiplyAdd(x, b1, c7_1); }
            if (TR.N > 8) { var x = Vector512.Create(a[8]); c8_0 = Avx512F.FusedMultiplyAdd(x, b0, c8_0); c8_1 = Avx512F.FusedMultiplyAdd(x, b1, c8_1); }
            if (TR.N > 9) { var x = Vector512.Create(a[9]); c9_0 = Avx512F.FusedMultiplyAdd(x, b0, c9_0); c9_1 = Avx512F.FusedMultiplyAdd(x, b1, c9_1); }
            if (TR.N > 10) { var x = Vector512.Create(a[10]); c10_0 = Avx512F.FusedMultiplyAdd(x, b0, c10_0); c10_1 = Avx512F.FusedMultiplyAdd(x, b1, c10_1); }
            if (TR.N > 11) { var x = Vector512.Create(a[11]); c11_0 = Avx512F.FusedMultiplyAdd(x, b0, c11_0); c11_1 = Avx512F.FusedMultiplyAdd(x, b1, c11_1); }
            if (TR.N > 12) { var x = Vector512.Create(a[12]); c12_0 = Avx512F.FusedMultiplyAdd(x, b0, c12_0); c12_1 = Avx512F.FusedMultiplyAdd(x, b1, c12_1); }
            if (TR.N > 13) { var x = Vector512.Create(a[13]); c13_0 = Avx512F.FusedMultiplyAdd(x, b0, c13_0); c13_1 = Avx512F.FusedMultiplyAdd(x, b1, c13_1); }
            a += 14; b += 32;
        }
        if (TR.N > 0) { c0_0.Store(c); c0_1.Store(c + 16); }
        if (TR.N > 1) { c1_0.Store(c + 1 * ldc); c1_1.Store(c + 1 * ldc + 16); }
        if (TR.N > 2) { c2_0.Store(c + 2 * ldc); c2_1.Store(c + 2 * ldc + 16); }
        if (TR.N > 3) { c3_0.Store(c + 3 * ldc); c3_1.Store(c + 3 * ldc + 16); }
        if (TR.N > 4) { c4_0.Store(c + 4 * ldc); c4_1.Store(c + 4 * ldc + 16); }
        if (TR.N > 5) { c5_0.Store(c + 5 * ldc); c5_1.Store(c + 5 * ldc + 16); }
        if (TR.N > 6) { c6_0.Store(c + 6 * ldc); c6_1.Store(c + 6 * ldc + 16); }
        if (TR.N > 7) { c7_0.Store(c + 7 * ldc); c7_1.Store(c + 7 * ldc + 16); }
        if (TR.N > 8) { c8_0.Store(c + 8 * ldc); c8_1.Store(c + 8 * ldc + 16); }
        if (TR.N > 9) { c9_0.Store(c + 9 * ldc); c9_1.Store(c + 9 * ldc + 16); }
        if (TR.N > 10) { c10_0.Store(c + 10 * ldc); c10_1.Store(c + 10 * ldc + 16); }
        if (TR.N > 11) { c11_0.Store(c + 11 * ldc); c11_1.Store(c + 11 * ldc + 16); }
        if (TR.N > 12) { c12_0.Store(c + 12 * ldc); c12_1.Store(c + 12 * ldc + 16); }
        if (TR.N > 13) { c13_0.Store(c + 13 * ldc); c13_1.Store(c + 13 * ldc + 16); }
    }
}
