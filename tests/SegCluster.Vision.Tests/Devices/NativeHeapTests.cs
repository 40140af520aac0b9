using System.Runtime.InteropServices;
using SegCluster.Vision.Devices;

namespace SegCluster.Vision.Tests.Devices;

/// <summary>
/// glibc keeps freed chunks below a live one resident (it only gives back the top of a heap on its own); Trim must
/// return them, which is what keeps a training node's resident memory on its live memory.
/// </summary>
public sealed class NativeHeapTests
{
    private const int Blocks = 1024, BlockBytes = 64 << 10;  // 64 MiB in chunks below the mmap threshold: they come from an arena

    [GlibcFact]
    public void Trim_returns_freed_arena_memory_below_a_live_chunk_to_the_kernel()
    {
        var ones = Enumerable.Repeat((byte)1, BlockBytes).ToArray();
        var blocks = new IntPtr[Blocks];
        for (int i = 0; i < Blocks; i++)
        {
            blocks[i] = Marshal.AllocHGlobal(BlockBytes);  // malloc on Unix
            Marshal.Copy(ones, 0, blocks[i], BlockBytes);  // touched: resident
        }
        var fence = Marshal.AllocHGlobal(64);  // a live chunk above them keeps glibc from trimming the heap top on free
        try
        {
            var inUse = NativeHeap.Statistics()!.InUseBytes;
            for (int i = 0; i < Blocks; i++) Marshal.FreeHGlobal(blocks[i]);
            var freed = NativeHeap.Statistics()!;
            Assert.True(inUse - freed.InUseBytes >= 60L << 20, $"in use fell by {(inUse - freed.InUseBytes) >> 20} MiB after freeing 64 MiB");
            Assert.True(freed.FreeInArenasBytes >= 60L << 20, $"the arenas keep {freed.FreeInArenasBytes >> 20} MiB free");

            var before = ResidentAnonymousBytes();
            Assert.True(NativeHeap.Trim());
            var after = ResidentAnonymousBytes();
            Assert.True(before - after >= 48L << 20, $"resident anonymous memory {before >> 20} → {after >> 20} MiB");
        }
        finally
        {
            Marshal.FreeHGlobal(fence);
        }
    }

    [Fact]
    public void Statistics_exist_exactly_when_malloc_is_glibc()
    {
        Assert.Contains(NativeHeap.Allocator, new[] { "glibc", "jemalloc", "other" });
        Assert.Equal(NativeHeap.IsGlibc, NativeHeap.Statistics() is not null);
    }

    private static long ResidentAnonymousBytes() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("RssAnon:"))["RssAnon:".Length..].Trim().Split(' ')[0]) * 1024;
}
