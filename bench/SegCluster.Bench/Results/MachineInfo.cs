using System.Runtime.InteropServices;

namespace SegCluster.Bench.Results;

/// <summary>Where a benchmark ran: results from different machines are compared as ratios only.</summary>
internal sealed record MachineInfo(string Host, int Cores, string Os, string Runtime, DateTimeOffset When)
{
    public static MachineInfo Current => new(Environment.MachineName, Environment.ProcessorCount,
        RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, DateTimeOffset.UtcNow);
}
