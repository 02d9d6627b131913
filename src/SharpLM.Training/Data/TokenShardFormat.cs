// Token shard file format (SharpLM's pretraining input): a `.bin` token stream plus an `.idx` document index.
//
//   .bin  (all integers little-endian)
//     0   8 bytes  magic "SLMTOKS\0"
//     8   u32      version = 1
//     12  u32      token width in bytes: 2 (uint16 tokens, vocab ≤ 65536) or 4 (uint32 tokens)
//     16  u64      token count N
//     24  u64      document count D
//     32  u32      vocabulary size V (every token is < V)
//     36  u32      reserved, 0
//     40  u64      checksum: FNV-1a-64 step per token id, then per document end (see Checksum); the
//                  matching .idx holds the same value, which catches a .bin/.idx mix-up or a changed stream
//     48  16 bytes reserved, 0
//     64  N tokens, width bytes each           file size = 64 + N·width exactly
//
//   .idx
//     0   8 bytes  magic "SLMIDX\0\0"
//     8   u32      version = 1
//     12  u32      reserved, 0
//     16  u64      document count D
//     24  u64      token count N (equal to the .bin's)
//     32  u64      checksum (equal to the .bin's)
//     40  24 bytes reserved, 0
//     64  D × u64  document end offsets in tokens: non-decreasing, the last equals N
//                  (document d spans [end[d-1], end[d]), with end[-1] = 0)   file size = 64 + 8·D exactly
//
// The 64-byte headers keep the token stream and the index 8-byte aligned in a memory map. The layout is the
// llm.c / Megatron idea (flat little-endian token stream + uint64 document index); the header fields are ours,
// since neither defines a standard header. Not here: compression, per-token metadata, loss masks.
namespace SharpLM.Training.Data;

/// <summary>Constants of the token shard format (see the file header for the byte layout).</summary>
public static class TokenShardFormat
{
    /// <summary>Header size of both files, in bytes.</summary>
    public const int HeaderBytes = 64;
    /// <summary>Current format version.</summary>
    public const uint Version = 1;
    /// <summary>Magic of the .bin file.</summary>
    public static ReadOnlySpan<byte> BinMagic => "SLMTOKS\0"u8;
    /// <summary>Magic of the .idx file.</summary>
    public static ReadOnlySpan<byte> IdxMagic => "SLMIDX\0\0"u8;
    /// <summary>Largest vocabulary stored as uint16.</summary>
    public const int MaxUInt16Vocab = 65536;

    /// <summary>The .idx path that belongs to a .bin path.</summary>
    public static string IndexPathFor(string binPath) => Path.ChangeExtension(binPath, ".idx");

    /// <summary>FNV-1a-64 offset basis: the checksum of an empty shard.</summary>
    public const ulong ChecksumSeed = 14695981039346656037UL;

    /// <summary>One checksum step: FNV-1a-64 over a whole 64-bit word (a token id or a document end).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static ulong Checksum(ulong h, ulong word) => (h ^ word) * 1099511628211UL;

    /// <summary>Token width for a vocabulary: 2 bytes when every id fits in uint16, else 4.</summary>
    public static int WidthFor(int vocabSize) => vocabSize <= MaxUInt16Vocab ? 2 : 4;
}
