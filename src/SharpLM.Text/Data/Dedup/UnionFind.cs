// Disjoint sets over 0..n-1 whose root is always the smallest member (union links the larger root under
// the smaller), so "keep the representative" means "keep the first document in input order" whatever the
// order of the unions — the clustering is deterministic. Find uses path halving (Tarjan & van Leeuwen 1984).
namespace SharpLM.Text.Data.Dedup;

/// <summary>Union-find whose set representative is the set's smallest element.</summary>
public sealed class UnionFind
{
    private readonly int[] _parent;

    /// <summary>n singleton sets {0} … {n-1}.</summary>
    public UnionFind(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        _parent = new int[n];
        for (int i = 0; i < n; i++) _parent[i] = i;
    }

    /// <summary>Number of elements.</summary>
    public int Count => _parent.Length;

    /// <summary>The smallest element of x's set.</summary>
    public int Find(int x)
    {
        while (_parent[x] != x)
        {
            _parent[x] = _parent[_parent[x]];
            x = _parent[x];
        }
        return x;
    }

    /// <summary>Merges the sets of a and b; returns false when they were already one set.</summary>
    public bool Union(int a, int b)
    {
        int ra = Find(a), rb = Find(b);
        if (ra == rb) return false;
        if (ra < rb) _parent[rb] = ra; else _parent[ra] = rb;
        return true;
    }
}
