using System.Runtime.InteropServices;

namespace SegCluster.Collectives.Tests;

/// <summary>The zero-copy byte views the transports send from and receive into, for buffers past 2 GiB of bytes.</summary>
public sealed class FloatBytesMemoryManagerTests
{
    [Fact]
    public unsafe void A_chunk_past_2_GiB_is_viewed_and_pinned_at_its_own_floats()
    {
        // 600M floats = 2.4 GB, over int.MaxValue bytes. Uninitialised, so only the touched pages take memory.
        var floats = GC.AllocateUninitializedArray<float>(600_000_000);
        const int start = 550_000_000; // byte offset 2.2e9: overflows an int
        float[] chunk = [1, 2, 3, 4];
        chunk.CopyTo(floats, start);

        var bytes = FloatBytesMemoryManager.Bytes(floats, start, chunk.Length);
        Assert.Equal(chunk.Length * sizeof(float), bytes.Length);
        Assert.Equal(chunk, MemoryMarshal.Cast<byte, float>(bytes.Span).ToArray());
        using var pinned = bytes.Pin(); // what socket I/O uses
        fixed (float* expected = &floats[start])
            Assert.Equal((nint)expected, (nint)pinned.Pointer);
    }
}
