using SegCluster.Vision.Devices;
using TorchSharp;

namespace SegCluster.Bench.Training;

/// <summary>
/// Where resident memory sits at one step of the memory run, to tell a leak (live bytes grow) from an allocator
/// keeping freed memory (native in-use flat, free-in-arenas or resident anonymous grows) from new threads or code pages.
/// </summary>
/// <param name="Step">Trainer steps since the end of warm-up.</param>
/// <param name="NativeInUseBytes">glibc: bytes malloc has handed out and not had back (null with another allocator).</param>
/// <param name="NativeFreeInArenasBytes">glibc: freed bytes its arenas keep (null with another allocator).</param>
public sealed record MemorySample(
    int Step,
    long ResidentBytes,
    long ResidentAnonymousBytes,
    long ResidentFileBytes,
    long AnonymousHugePageBytes,
    int Threads,
    long LiveTensors,
    long ManagedCommittedBytes,
    long? NativeInUseBytes,
    long? NativeFreeInArenasBytes,
    long? NativeArenaBytes,
    long? NativeMappedBytes)
{
    public static MemorySample Take(int step)
    {
        var heap = NativeHeap.Statistics();
        return new MemorySample(step, ProcessMemory.ResidentBytes(), ProcessMemory.ResidentAnonymousBytes(), ProcessMemory.ResidentFileBytes(),
            ProcessMemory.AnonymousHugePageBytes(), ProcessMemory.Threads(), torch.Tensor.TotalCount,
            GC.GetGCMemoryInfo().TotalCommittedBytes, heap?.InUseBytes, heap?.FreeInArenasBytes, heap?.ArenaBytes, heap?.MappedBytes);
    }
}
