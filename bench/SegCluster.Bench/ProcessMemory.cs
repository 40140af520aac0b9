namespace SegCluster.Bench;

/// <summary>
/// Resident memory of this process from /proc/self/status (Linux): VmRSS now and VmHWM, the kernel's
/// high-water mark of VmRSS over the process's life. On CPU libtorch allocates with malloc (no caching
/// allocator), so the peak of one fresh process minus its resident memory just before training is the
/// memory the training steps needed at their worst moment.
/// </summary>
public static class ProcessMemory
{
    public static long ResidentBytes() => Kilobytes("/proc/self/status", "VmRSS:");

    public static long PeakResidentBytes() => Kilobytes("/proc/self/status", "VmHWM:");

    /// <summary>Resident anonymous memory (heaps, arenas, thread stacks, the GC heap): where a leak or retained free memory shows.</summary>
    public static long ResidentAnonymousBytes() => Kilobytes("/proc/self/status", "RssAnon:");

    /// <summary>Resident file-backed pages (mapped libraries such as libtorch's code), which grow as code is first touched.</summary>
    public static long ResidentFileBytes() => Kilobytes("/proc/self/status", "RssFile:");

    /// <summary>Anonymous memory backed by transparent huge pages (2 MiB at a time).</summary>
    public static long AnonymousHugePageBytes() => Kilobytes("/proc/self/smaps_rollup", "AnonHugePages:");

    public static int Threads() => (int)Field("/proc/self/status", "Threads:");

    private static long Kilobytes(string file, string key) => Field(file, key) * 1024;  // "  123456 kB"

    private static long Field(string file, string key)
    {
        foreach (var line in File.ReadLines(file))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
        throw new InvalidOperationException($"{file} has no {key} line (the bench needs Linux).");
    }
}
