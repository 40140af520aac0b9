using System.Buffers.Binary;

namespace SegCluster.Collectives.Tcp;

/// <summary>
/// Header of one chunk on a data connection, followed by <see cref="PayloadBytes"/> bytes of floats.
/// The connection is one ordered stream per ring edge, so the indices are checks, not addresses: a
/// rank that called with another length or fell out of step is reported instead of summed.
/// </summary>
internal readonly record struct ChunkFrame(long Sequence, int Step, int Chunk, long TotalLength, int PayloadBytes)
{
    /// <summary>i64 sequence, i32 step, i32 chunk, i64 total length (floats), i32 payload bytes; little-endian.</summary>
    public const int Size = 28;

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, Sequence);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], Step);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], Chunk);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], TotalLength);
        BinaryPrimitives.WriteInt32LittleEndian(destination[24..], PayloadBytes);
    }

    public static ChunkFrame Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadInt64LittleEndian(source),
        BinaryPrimitives.ReadInt32LittleEndian(source[8..]),
        BinaryPrimitives.ReadInt32LittleEndian(source[12..]),
        BinaryPrimitives.ReadInt64LittleEndian(source[16..]),
        BinaryPrimitives.ReadInt32LittleEndian(source[24..]));
}
