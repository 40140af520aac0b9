using SegCluster.Vision.Devices;

namespace SegCluster.Vision.Tests.Devices;

/// <summary>A fact about glibc's malloc: skipped where another allocator serves malloc (musl, jemalloc preloaded, not Linux).</summary>
public sealed class GlibcFactAttribute : FactAttribute
{
    public GlibcFactAttribute()
    {
        if (!NativeHeap.IsGlibc) Skip = $"malloc here is {NativeHeap.Allocator}, not glibc";
    }
}
