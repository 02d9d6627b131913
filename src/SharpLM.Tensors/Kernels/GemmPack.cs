// Packing of the f32 GEMM: copies an MR×KC block of A or a KC×NR block of B into the contiguous
// "micro-panel" layout the micro-kernels stream ([k][W] — W consecutive floats per k, W = MR or NR,
// zero-padded past the matrix edge), as in BLIS (Van Zee & van de Geijn, "BLIS: A Framework for
// Rapidly Instantiating BLAS Functionality", 2015). Two source shapes exist:
//   rows — each of the W panel lanes is a contiguous run along k (A not transposed, B transposed):
//          a transpose, done 16×16 in AVX-512 registers;
//   cols — each k holds the W lanes contiguously (A transposed, B not transposed): a copy.
// The source element is f32 or bf16 (widened exactly: bf16 is the top half of an f32). Packing moves
// values and never rounds, so it has no effect on the result bits. Not a kernel: no arithmetic.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpLM.Tensors.Kernels;

/// <summary>A source element type of a packed operand (f32 or bf16), widened to f32.</summary>
internal unsafe interface IGemmElem
{
    static abstract int Size { get; }
    static abstract float Get(byte* p, nint i);
    /// <summary>16 consecutive elements at p, widened (AVX-512 only).</summary>
    static abstract Vector512<float> Load16(byte* p);
}

internal readonly unsafe struct F32Elem : IGemmElem
{
    public static int Size => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Get(byte* p, nint i) => ((float*)p)[i];
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* p) => Vector512.Load((float*)p);
}

internal readonly unsafe struct Bf16Elem : IGemmElem
{
    public static int Size => 2;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Get(byte* p, nint i) => BitConverter.UInt32BitsToSingle((uint)((ushort*)p)[i] << 16);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load16(byte* p)
        => Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)p)), 16).AsSingle();
}

internal static unsafe class GemmPack
{
    /// <summary>
    /// Rows source: lane r (r &lt; rows) reads src[r·ld + k] for k in [0, kc); writes dst[k·W + r], lanes
    /// rows..W-1 zero. <paramref name="ld"/> is in elements.
    /// </summary>
    public static void Rows<TE>(byte* src, nint ld, int rows, int kc, float* dst, int W, bool wide) where TE : struct, IGemmElem
    {
        int kv = 0;
        if (wide && Avx512F.IsSupported)
        {
            kv = kc & ~15;
            for (int r0 = 0; r0 < W; r0 += 16)
            {
                int lanes = Math.Min(16, W - r0), have = Math.Clamp(rows - r0, 0, 16);
                for (int k = 0; k < kv; k += 16)
                    Transpose16<TE>(src + ((r0 * ld) + k) * TE.Size, ld * TE.Size, have, dst + (nint)k * W + r0, W, lanes);
            }
        }
        for (int k = kv; k < kc; k++)
        {
            float* d = dst + (nint)k * W;
            int r = 0;
            for (; r < rows; r++) d[r] = TE.Get(src, r * ld + k);
            for (; r < W; r++) d[r] = 0f;
        }
    }

    /// <summary>Cols source: lane r (r &lt; rows) of step k reads src[k·ld + r]; writes dst[k·W + r], lanes rows..W-1 zero.</summary>
    public static void Cols<TE>(byte* src, nint ld, int rows, int kc, float* dst, int W, bool wide) where TE : struct, IGemmElem
    {
        if (wide && Avx512F.IsSupported)
        {
            for (int k = 0; k < kc; k++)
            {
                byte* s = src + (nint)k * ld * TE.Size;
                float* d = dst + (nint)k * W;
                for (int r0 = 0; r0 < W; r0 += 16)
                {
                    int have = Math.Clamp(rows - r0, 0, 16), lanes = Math.Min(16, W - r0);
                    Vector512<float> v = have == 16 ? TE.Load16(s + r0 * TE.Size) : Partial<TE>(s + r0 * TE.Size, have);
                    if (lanes == 16) v.Store(d + r0);
                    else Avx512F.MaskStore(d + r0, Mask(lanes), v);
                }
            }
            return;
        }
        for (int k = 0; k < kc; k++)
        {
            float* d = dst + (nint)k * W;
            nint o = (nint)k * ld;
            int r = 0;
            if (TE.Size == 4)
            {
                float* s = (float*)src + o;
                if (Vector256.IsHardwareAccelerated)
                    for (; r + 8 <= rows; r += 8) Vector256.Store(Vector256.Load(s + r), d + r);
                for (; r < rows; r++) d[r] = s[r];
            }
            else
                for (; r < rows; r++) d[r] = TE.Get(src, o + r);
            for (; r < W; r++) d[r] = 0f;
        }
    }

    /// <summary>
    /// Cols source, a whole block of panels at once: lane r (r &lt; rows) of step k reads src[k·ld + r] and goes
    /// to panel r / W at dst + (r / W)·W·kc + k·W + r % W; lanes past <paramref name="rows"/> in the last panel
    /// are zero. Same result as <see cref="Cols{TE}"/> per panel, but each source row is read once, front to
    /// back: packing panel by panel reads W floats per row at a stride of ld (6 KB for a 1536-wide
    /// activation), which touches every row once per panel, defeats the prefetcher and, at strides that are
    /// multiples of 2 KB, maps all rows to a few L1 sets. W ≤ 16 or a multiple of 16 (the B panels).
    /// </summary>
    public static void ColsPanels<TE>(byte* src, nint ld, int rows, int kc, float* dst, int W, bool wide) where TE : struct, IGemmElem
    {
        int panels = (rows + W - 1) / W, full = rows / W;
        nint stride = (nint)W * kc;
        if (wide && Avx512F.IsSupported && W <= 16)
        {
            var mask = Mask(W);
            // Interior panels may load 16 lanes (the extra lanes are the next panel's, inside the row); the
            // last whole panel and a partial one load under a mask, never past the row's end.
            int loose = rows < 16 ? 0 : Math.Min(full, (rows - 16) / W + 1);
            int tail = rows - full * W;
            for (int k = 0; k < kc; k++)
            {
                byte* s = src + (nint)k * ld * TE.Size;
                float* d = dst + (nint)k * W;
                int q = 0;
                for (; q < loose; q++) Avx512F.MaskStore(d + q * stride, mask, TE.Load16(s + q * W * TE.Size));
                for (; q < full; q++) Avx512F.MaskStore(d + q * stride, mask, Partial<TE>(s + q * W * TE.Size, W));
                if (tail > 0) Avx512F.MaskStore(d + q * stride, mask, Partial<TE>(s + q * W * TE.Size, tail));
            }
            return;
        }
        if (wide && Avx512F.IsSupported && W % 16 == 0)
        {
            int vecs = W / 16, tail = rows - full * W;
            for (int k = 0; k < kc; k++)
            {
                byte* s = src + (nint)k * ld * TE.Size;
                float* d = dst + (nint)k * W;
                int q = 0;
                for (; q < full; q++)
                    for (int v = 0; v < vecs; v++) TE.Load16(s + (q * W + v * 16) * TE.Size).Store(d + q * stride + v * 16);
                if (tail > 0)
                    for (int v = 0; v < vecs; v++)
                    {
                        int have = Math.Clamp(tail - v * 16, 0, 16);
                        byte* sv = s + (q * W + v * 16) * TE.Size;
                        (have == 16 ? TE.Load16(sv) : Partial<TE>(sv, have)).Store(d + q * stride + v * 16);
                    }
            }
            return;
        }
        for (int q = 0; q < panels; q++)
            Cols<TE>(src + (nint)q * W * TE.Size, ld, Math.Min(W, rows - q * W), kc, dst + q * stride, W, wide);
    }

    private static Vector512<float> Partial<TE>(byte* s, int have) where TE : struct, IGemmElem
    {
        if (have <= 0) return Vector512<float>.Zero;
        if (TE.Size == 4) return Avx512F.MaskLoad((float*)s, Mask(have), Vector512<float>.Zero);
        var tmp = stackalloc float[16];
        for (int i = 0; i < 16; i++) tmp[i] = i < have ? TE.Get(s, i) : 0f;
        return Vector512.Load(tmp);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Mask(int lanes)
        => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(lanes)).AsSingle();

    /// <summary>
    /// Transposes a 16 (k) × <paramref name="have"/> (rows, ≤ 16; missing rows read as zero) block:
    /// row r starts at s + r·ldBytes; output k goes to d + k·ldd, <paramref name="lanes"/> lanes stored.
    /// Four shuffle stages of 16 instructions (unpack ps, unpack pd, two 128-bit lane shuffles).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose16<TE>(byte* s, nint ldBytes, int have, float* d, nint ldd, int lanes) where TE : struct, IGemmElem
    {
        var z = Vector512<float>.Zero;
        var r0 = have > 0 ? TE.Load16(s) : z;
        var r1 = have > 1 ? TE.Load16(s + ldBytes) : z;
        var r2 = have > 2 ? TE.Load16(s + 2 * ldBytes) : z;
        var r3 = have > 3 ? TE.Load16(s + 3 * ldBytes) : z;
        var r4 = have > 4 ? TE.Load16(s + 4 * ldBytes) : z;
        var r5 = have > 5 ? TE.Load16(s + 5 * ldBytes) : z;
        var r6 = have > 6 ? TE.Load16(s + 6 * ldBytes) : z;
        var r7 = have > 7 ? TE.Load16(s + 7 * ldBytes) : z;
        var r8 = have > 8 ? TE.Load16(s + 8 * ldBytes) : z;
        var r9 = have > 9 ? TE.Load16(s + 9 * ldBytes) : z;
        var r10 = have > 10 ? TE.Load16(s + 10 * ldBytes) : z;
        var r11 = have > 11 ? TE.Load16(s + 11 * ldBytes) : z;
        var r12 = have > 12 ? TE.Load16(s + 12 * ldBytes) : z;
        var r13 = have > 13 ? TE.Load16(s + 13 * ldBytes) : z;
        var r14 = have > 14 ? TE.Load16(s + 14 * ldBytes) : z;
        var r15 = have > 15 ? TE.Load16(s + 15 * ldBytes) : z;

        // stage 1: interleave pairs of rows (32-bit)
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);
        var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);
        var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9);
        var t10 = Avx512F.UnpackLow(r10, r11); var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13); var t13 = Avx512F.UnpackHigh(r12, r13);
        var t14 = Avx512F.UnpackLow(r14, r15); var t15 = Avx512F.UnpackHigh(r14, r15);

        // stage 2: interleave pairs of pairs (64-bit): u(4q + f) holds columns f, f+4, f+8, f+12 of rows 4q..4q+3
        var u0 = Lo(t0, t2); var u1 = Hi(t0, t2); var u2 = Lo(t1, t3); var u3 = Hi(t1, t3);
        var u4 = Lo(t4, t6); var u5 = Hi(t4, t6); var u6 = Lo(t5, t7); var u7 = Hi(t5, t7);
        var u8 = Lo(t8, t10); var u9 = Hi(t8, t10); var u10 = Lo(t9, t11); var u11 = Hi(t9, t11);
        var u12 = Lo(t12, t14); var u13 = Hi(t12, t14); var u14 = Lo(t13, t15); var u15 = Hi(t13, t15);

        // stages 3 and 4: gather the 128-bit lanes
        Family(u0, u4, u8, u12, d, ldd, lanes, 0);
        Family(u1, u5, u9, u13, d, ldd, lanes, 1);
        Family(u2, u6, u10, u14, d, ldd, lanes, 2);
        Family(u3, u7, u11, u15, d, ldd, lanes, 3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Lo(Vector512<float> a, Vector512<float> b) => Avx512F.UnpackLow(a.AsDouble(), b.AsDouble()).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Hi(Vector512<float> a, Vector512<float> b) => Avx512F.UnpackHigh(a.AsDouble(), b.AsDouble()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Family(Vector512<float> a, Vector512<float> e, Vector512<float> i, Vector512<float> m, float* d, nint ldd, int lanes, int f)
    {
        var sa = Avx512F.Shuffle4x128(a, e, 0x88); // cols f, f+8 of rows 0-7
        var sb = Avx512F.Shuffle4x128(a, e, 0xDD); // cols f+4, f+12 of rows 0-7
        var sc = Avx512F.Shuffle4x128(i, m, 0x88); // cols f, f+8 of rows 8-15
        var sd = Avx512F.Shuffle4x128(i, m, 0xDD); // cols f+4, f+12 of rows 8-15
        Put(Avx512F.Shuffle4x128(sa, sc, 0x88), d + f * ldd, lanes);
        Put(Avx512F.Shuffle4x128(sa, sc, 0xDD), d + (f + 8) * ldd, lanes);
        Put(Avx512F.Shuffle4x128(sb, sd, 0x88), d + (f + 4) * ldd, lanes);
        Put(Avx512F.Shuffle4x128(sb, sd, 0xDD), d + (f + 12) * ldd, lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector512<float> v, float* d, int lanes)
    {
        if (lanes == 16) v.Store(d);
        else Avx512F.MaskStore(d, Mask(lanes), v);
    }
}
