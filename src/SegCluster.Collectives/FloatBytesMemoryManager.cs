using System.Buffers;
using System.Runtime.InteropServices;

namespace SegCluster.Collectives;

/// <summary>
/// Exposes a float array segment as <see cref="Memory{T}"/> of bytes without copying, so a chunk can
/// become a protobuf <c>bytes</c> field via <c>UnsafeByteOperations.UnsafeWrap</c>.
/// </summary>
/// <remarks>
/// Contract: the slice must not change until the gRPC call that carries it has completed; the ring
/// guarantees this because a segment is never written during the step in which it is sent.
/// </remarks>
internal sealed class FloatBytesMemoryManager : MemoryManager<byte>
{
    private readonly float[] _array;
    private readonly int _start;
    private readonly int _count;

    public FloatBytesMemoryManager(ArraySegment<float> segment)
    {
        _array = segment.Array ?? throw new ArgumentException("the segment has no array", nameof(segment));
        _start = segment.Offset;
        _count = segment.Count;
    }

    /// <summary>The bytes of <paramref name="length"/> floats from <paramref name="start"/>: one view per chunk, so byte
    /// lengths and offsets stay within a chunk (a view of a whole buffer above 512M floats would overflow an int).</summary>
    public static Memory<byte> Bytes(ArraySegment<float> buffer, int start, int length) =>
        new FloatBytesMemoryManager(buffer.Slice(start, length)).Memory;

    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(_array.AsSpan(_start, _count));

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _count * sizeof(float));
        var handle = GCHandle.Alloc(_array, GCHandleType.Pinned);
        var pointer = (byte*)handle.AddrOfPinnedObject() + ((nint)_start * sizeof(float)) + elementIndex;

        // MemoryHandle.Dispose frees the GCHandle; nothing else to release.
        return new MemoryHandle(pointer, handle);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
