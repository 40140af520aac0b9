namespace SegCluster.Tests.Shared;

/// <summary>A fact about Linux (its native libraries, file descriptors, ELF files): skipped, and reported so, elsewhere.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = $"needs Linux; this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
    }
}

/// <summary>A fact that runs a shell script: skipped, and reported so, on Windows.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "runs a shell script, which Windows has no shell for";
    }
}
