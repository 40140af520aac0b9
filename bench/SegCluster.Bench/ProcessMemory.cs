namespace SegCluster.Bench;

/// <summary>
/// Resident memory of this process from /proc/self/status (Linux): VmRSS now and VmHWM, the kernel's
/// high-water mark of VmRSS over the process's life. On CPU libtorch allocates with malloc (no caching
/// allocator), so the peak of one fresh process minus its resident memory just before training is the
/// memory the training steps needed at their worst moment.
/// </summary>
public static class ProcessMemory
{
    public static long ResidentBytes() => Read("VmRSS:");

    public static long PeakResidentBytes() => Read("VmHWM:");

    private static long Read(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0]) * 1024;  // "  123456 kB"
        throw new InvalidOperationException($"/proc/self/status has no {key} line (the bench needs Linux).");
    }
}
