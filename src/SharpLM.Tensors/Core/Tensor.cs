// A tensor is storage + shape + strides (in elements) + offset. Storage is a shared, 64-byte-aligned
// NativeBuffer, so views (Reshape, Transpose, Narrow) are free and never copy; Contiguous() copies
// only when the layout is not already row-major dense. There is no broadcasting: operations that
// combine tensors check shapes and throw with both shapes in the message.
using System.Runtime.CompilerServices;

namespace SharpLM.Tensors;

/// <summary>An n-dimensional array over aligned native storage.</summary>
public sealed unsafe class Tensor : IDisposable
{
    private readonly NativeBuffer _storage;
    private readonly bool _ownsStorage;
    private readonly int[] _shape;
    private readonly long[] _strides;

    /// <summary>Element type.</summary>
    public DType DType { get; }
    /// <summary>Offset of element [0,…,0] from the storage start, in elements.</summary>
    public long Offset { get; }
    /// <summary>Number of elements.</summary>
    public long Length { get; }

    private Tensor(NativeBuffer storage, bool owns, DType dtype, int[] shape, long[] strides, long offset)
    {
        _storage = storage; _ownsStorage = owns; DType = dtype; _shape = shape; _strides = strides; Offset = offset;
        long n = 1;
        foreach (int d in shape) n *= d;
        Length = n;
    }

    /// <summary>A new zero-filled tensor.</summary>
    public static Tensor Zeros(DType dtype, params int[] shape)
    {
        long n = CheckShape(shape);
        var buf = new NativeBuffer(n * DTypeInfo.SizeOf(dtype));
        return new Tensor(buf, true, dtype, (int[])shape.Clone(), RowMajorStrides(shape), 0);
    }

    /// <summary>A new f32 tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, params int[] shape)
    {
        var t = Zeros(DType.F32, shape);
        if (data.Length != t.Length) throw new ArgumentException($"data has {data.Length} elements but shape {Format(shape)} needs {t.Length}");
        data.CopyTo(t.AsSpan<float>());
        return t;
    }

    /// <summary>A new int32 tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(ReadOnlySpan<int> data, params int[] shape)
    {
        var t = Zeros(DType.I32, shape);
        if (data.Length != t.Length) throw new ArgumentException($"data has {data.Length} elements but shape {Format(shape)} needs {t.Length}");
        data.CopyTo(t.AsSpan<int>());
        return t;
    }

    /// <summary>Dimensions.</summary>
    public ReadOnlySpan<int> Shape => _shape;
    /// <summary>Strides in elements.</summary>
    public ReadOnlySpan<long> Strides => _strides;
    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;
    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public int Dim(int dim) => _shape[dim < 0 ? dim + _shape.Length : dim];

    /// <summary>True if elements are laid out row-major without gaps.</summary>
    public bool IsContiguous
    {
        get
        {
            long expect = 1;
            for (int i = _shape.Length - 1; i >= 0; i--)
            {
                if (_shape[i] != 1 && _strides[i] != expect) return false;
                expect *= _shape[i];
            }
            return true;
        }
    }

    /// <summary>Pointer to element [0,…,0].</summary>
    public void* RawPointer => (byte*)_storage.Pointer + Offset * DTypeInfo.SizeOf(DType);

    /// <summary>Pointer to element [0,…,0] as f32 (throws for other dtypes).</summary>
    public float* Data
    {
        get { Expect(DType.F32); return (float*)RawPointer; }
    }

    /// <summary>The elements of a contiguous tensor as a span of <typeparamref name="T"/> (float, ushort for bf16, int, sbyte).</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (!IsContiguous) throw new InvalidOperationException($"tensor of shape {Format(_shape)} with strides {Format(_strides)} is not contiguous; call Contiguous() first");
        if (sizeof(T) != DTypeInfo.SizeOf(DType)) throw new InvalidOperationException($"cannot view {DTypeInfo.Name(DType)} elements as {typeof(T).Name}");
        return new Span<T>(RawPointer, checked((int)Length));
    }

    /// <summary>Copies the elements of an f32 tensor (in logical row-major order) into a new array.</summary>
    public float[] ToArray()
    {
        Expect(DType.F32);
        using var c = Contiguous();
        return c.AsSpan<float>().ToArray();
    }

    /// <summary>A view with a new shape over the same elements (contiguous tensors only); one dimension may be -1.</summary>
    public Tensor Reshape(params int[] shape)
    {
        var s = (int[])shape.Clone();
        int infer = -1; long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1) { if (infer >= 0) throw new ArgumentException($"reshape {Format(_shape)} → {Format(shape)}: at most one -1"); infer = i; }
            else known *= s[i];
        }
        if (infer >= 0 && known > 0) s[infer] = (int)(Length / known);
        if (CheckShape(s) != Length) throw new ArgumentException($"cannot reshape {Format(_shape)} ({Length} elements) to {Format(shape)}");
        if (!IsContiguous) throw new InvalidOperationException($"reshape needs a contiguous tensor; shape {Format(_shape)} strides {Format(_strides)}: call Contiguous() first");
        return new Tensor(_storage, false, DType, s, RowMajorStrides(s), Offset);
    }

    /// <summary>A view with dimensions <paramref name="d0"/> and <paramref name="d1"/> swapped (no copy).</summary>
    public Tensor Transpose(int d0, int d1)
    {
        d0 = Norm(d0); d1 = Norm(d1);
        var s = (int[])_shape.Clone(); var st = (long[])_strides.Clone();
        (s[d0], s[d1]) = (s[d1], s[d0]);
        (st[d0], st[d1]) = (st[d1], st[d0]);
        return new Tensor(_storage, false, DType, s, st, Offset);
    }

    /// <summary>A view of <paramref name="length"/> entries of dimension <paramref name="dim"/> starting at <paramref name="start"/>.</summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        dim = Norm(dim);
        if (start < 0 || length < 0 || start + length > _shape[dim])
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow [{start}, {start + length}) out of range for dimension {dim} of shape {Format(_shape)}");
        var s = (int[])_shape.Clone();
        s[dim] = length;
        return new Tensor(_storage, false, DType, s, (long[])_strides.Clone(), Offset + start * _strides[dim]);
    }

    /// <summary>This tensor if already contiguous (a view sharing storage), else a dense row-major copy.</summary>
    public Tensor Contiguous()
    {
        if (IsContiguous) return new Tensor(_storage, false, DType, (int[])_shape.Clone(), RowMajorStrides(_shape), Offset);
        var dst = Zeros(DType, _shape);
        int es = DTypeInfo.SizeOf(DType);
        byte* src = (byte*)_storage.Pointer, d = (byte*)dst.RawPointer;
        Span<int> idx = stackalloc int[_shape.Length];
        for (long i = 0; i < Length; i++)
        {
            long off = Offset;
            for (int k = 0; k < idx.Length; k++) off += idx[k] * _strides[k];
            Buffer.MemoryCopy(src + off * es, d + i * es, es, es);
            for (int k = idx.Length - 1; k >= 0; k--)
            {
                if (++idx[k] < _shape[k]) break;
                idx[k] = 0;
            }
        }
        return dst;
    }

    /// <summary>Element of an f32 tensor at the given index (slow; for tests and debugging).</summary>
    public float this[params int[] index]
    {
        get => ((float*)_storage.Pointer)[ElementOffset(index)];
        set => ((float*)_storage.Pointer)[ElementOffset(index)] = value;
    }

    /// <summary>Throws unless both tensors have exactly the same shape (no broadcasting).</summary>
    public static void CheckSameShape(Tensor a, Tensor b, string op)
    {
        if (!a.Shape.SequenceEqual(b.Shape)) throw new ArgumentException($"{op}: shapes {Format(a._shape)} and {Format(b._shape)} differ (no broadcasting)");
    }

    /// <summary>Frees the storage if this tensor owns it; views never free.</summary>
    public void Dispose()
    {
        if (_ownsStorage) _storage.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"Tensor({DTypeInfo.Name(DType)}, {Format(_shape)})";

    /// <summary>Formats a shape as (a, b, c).</summary>
    public static string Format(ReadOnlySpan<int> shape)
    {
        var sb = new System.Text.StringBuilder("(");
        for (int i = 0; i < shape.Length; i++) sb.Append(i == 0 ? "" : ", ").Append(shape[i]);
        return sb.Append(')').ToString();
    }

    private static string Format(ReadOnlySpan<long> strides)
    {
        var sb = new System.Text.StringBuilder("(");
        for (int i = 0; i < strides.Length; i++) sb.Append(i == 0 ? "" : ", ").Append(strides[i]);
        return sb.Append(')').ToString();
    }

    private long ElementOffset(int[] index)
    {
        Expect(DType.F32);
        if (index.Length != _shape.Length) throw new ArgumentException($"index of rank {index.Length} for shape {Format(_shape)}");
        long off = Offset;
        for (int i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)_shape[i]) throw new IndexOutOfRangeException($"index {index[i]} out of range for dimension {i} of shape {Format(_shape)}");
            off += index[i] * _strides[i];
        }
        return off;
    }

    private int Norm(int d)
    {
        int r = d < 0 ? d + _shape.Length : d;
        if ((uint)r >= (uint)_shape.Length) throw new ArgumentOutOfRangeException(nameof(d), $"dimension {d} out of range for shape {Format(_shape)}");
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Expect(DType t)
    {
        if (DType != t) throw new InvalidOperationException($"expected a {DTypeInfo.Name(t)} tensor, got {DTypeInfo.Name(DType)}");
    }

    private static long CheckShape(int[] shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape {Format(shape)}");
            n = checked(n * d);
        }
        return n;
    }

    private static long[] RowMajorStrides(int[] shape)
    {
        var st = new long[shape.Length];
        long s = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { st[i] = s; s *= shape[i]; }
        return st;
    }
}
