using System.Runtime.InteropServices;

namespace SegCluster.Vision.Devices;

/// <summary>
/// The C heap that libtorch allocates CPU tensors from (libtorch on CPU has no caching allocator: every tensor is a
/// malloc/free). glibc's malloc keeps freed chunks in its arenas and returns memory to the kernel only from the top
/// of each heap, so resident memory can creep up by the size of a freed-but-retained hole even when live memory is
/// flat; <see cref="Trim"/> (malloc_trim) hands every arena's free pages back. Measured (bench training-overhead): one
/// trim took ~35 ms in a training process and its pages were faulted back within 50 steps, so it is a diagnostic, not
/// a per-step remedy; jemalloc (LD_PRELOAD) is the remedy the node image ships.
/// </summary>
public static class NativeHeap
{
    /// <summary>Which allocator serves malloc in this process: "glibc", "jemalloc" (e.g. LD_PRELOAD), or "other".</summary>
    public static string Allocator { get; } = DetectAllocator();

    /// <summary>True when malloc is glibc's, so <see cref="Trim"/> and <see cref="Statistics"/> describe the heap torch uses.</summary>
    public static bool IsGlibc => Allocator == "glibc";

    /// <summary>
    /// Releases the free memory of every glibc arena to the kernel (malloc_trim(0)); returns true when some was released.
    /// A no-op returning false with another allocator (jemalloc purges on its own) or off Linux.
    /// </summary>
    public static bool Trim() => IsGlibc && malloc_trim(0) != 0;

    /// <summary>glibc's own account of its heap summed over all arenas (mallinfo2); null with another allocator.</summary>
    public static NativeHeapStatistics? Statistics()
    {
        if (!IsGlibc) return null;
        var info = mallinfo2();
        return new NativeHeapStatistics(
            InUseBytes: (long)(info.uordblks + info.hblkhd),
            FreeInArenasBytes: (long)info.fordblks,
            ArenaBytes: (long)info.arena,
            MappedBytes: (long)info.hblkhd);
    }

    private static string DetectAllocator()
    {
        if (!OperatingSystem.IsLinux()) return "other";
        // dlsym on the main program searches the global scope, LD_PRELOAD libraries first.
        var global = NativeLibrary.GetMainProgramHandle();
        if (NativeLibrary.TryGetExport(global, "mallctl", out _)) return "jemalloc";
        if (NativeLibrary.TryGetExport(global, "tc_malloc", out _)) return "other";  // tcmalloc
        return NativeLibrary.TryGetExport(global, "gnu_get_libc_version", out _) && NativeLibrary.TryGetExport(global, "mallinfo2", out _)
            ? "glibc" : "other";
    }

    [DllImport("libc")] private static extern int malloc_trim(nuint pad);

    [DllImport("libc")] private static extern MallInfo2 mallinfo2();

    // struct mallinfo2 (glibc ≥ 2.33): ten size_t fields in this order.
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }
}

/// <param name="InUseBytes">Bytes handed out by malloc and not yet freed (arena chunks in use plus mmapped chunks).</param>
/// <param name="FreeInArenasBytes">Freed bytes the arenas keep for reuse (resident where touched, until trimmed).</param>
/// <param name="ArenaBytes">Bytes the arenas hold from the kernel (sbrk and arena heaps), in use or free.</param>
/// <param name="MappedBytes">Bytes in chunks large enough to get their own mmap (returned to the kernel on free).</param>
public sealed record NativeHeapStatistics(long InUseBytes, long FreeInArenasBytes, long ArenaBytes, long MappedBytes);
