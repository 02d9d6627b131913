namespace SharpLM.Tensors.Tests.Core;

public sealed class TensorTests
{
    [Fact]
    public void StorageIs64ByteAligned()
    {
        for (int n = 1; n < 200; n += 13)
        {
            using var t = Tensor.Zeros(DType.F32, n);
            unsafe { Assert.Equal(0L, (long)t.RawPointer % 64); }
        }
    }

    [Fact]
    public void TransposeIsAViewAndContiguousCopiesInLogicalOrder()
    {
        using var t = Tensor.FromArray([1f, 2, 3, 4, 5, 6], 2, 3);
        using var tt = t.Transpose(0, 1);
        Assert.Equal([3, 2], tt.Shape.ToArray());
        Assert.False(tt.IsContiguous);
        Assert.Equal([1f, 4, 2, 5, 3, 6], tt.ToArray());
        tt[2, 1] = 60; // writes through to the base tensor
        Assert.Equal(60f, t[1, 2]);
    }

    [Fact]
    public void ReshapeInfersOneDimensionAndRejectsWrongSizes()
    {
        using var t = Tensor.Zeros(DType.F32, 4, 6);
        using var r = t.Reshape(2, -1, 3);
        Assert.Equal([2, 4, 3], r.Shape.ToArray());
        var e = Assert.Throws<ArgumentException>(() => t.Reshape(5, 5));
        Assert.Contains("(4, 6)", e.Message);
        Assert.Contains("(5, 5)", e.Message);
        using var tt = t.Transpose(0, 1);
        Assert.Throws<InvalidOperationException>(() => tt.Reshape(24));
    }

    [Fact]
    public void NarrowSelectsARange()
    {
        using var t = Tensor.FromArray([0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 3, 4);
        using var n = t.Narrow(1, 1, 2);
        Assert.Equal([1f, 2, 5, 6, 9, 10], n.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Narrow(0, 2, 2));
    }

    [Fact]
    public void SameShapeCheckNamesBothShapes()
    {
        using var a = Tensor.Zeros(DType.F32, 2, 3);
        using var b = Tensor.Zeros(DType.F32, 3, 2);
        var e = Assert.Throws<ArgumentException>(() => Tensor.CheckSameShape(a, b, "add"));
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("(3, 2)", e.Message);
    }
}
