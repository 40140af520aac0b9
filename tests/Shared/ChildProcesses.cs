using System.Diagnostics;

namespace SegCluster.Tests.Shared;

/// <summary>Starting and ending the processes a test starts (redis-server, prometheus, `segcluster node`, the CLI).</summary>
internal static class ChildProcesses
{
    /// <summary>Leaves out the crash-dump settings this test host runs under (`dotnet test --blame-crash`, as build.sh
    /// runs it, sets COMPlus_DbgEnableMiniDump and its kin) so that a .NET child does not inherit them. A child's crash is
    /// read from its exit code and output; a node Orleans declared dead ends itself with Environment.FailFast by design
    /// (RedisClusterPartitionTests), and would otherwise write a heap dump of a process holding libtorch on the way out.</summary>
    public static ProcessStartInfo WithoutCrashDumps(this ProcessStartInfo info)
    {
        foreach (var name in info.Environment.Keys.Where(IsCrashDumpSetting).ToList()) info.Environment.Remove(name);
        return info;
    }

    private static bool IsCrashDumpSetting(string name) =>
        name.StartsWith("COMPlus_Dbg", StringComparison.OrdinalIgnoreCase) || name.StartsWith("DOTNET_Dbg", StringComparison.OrdinalIgnoreCase);

    /// <summary>How long a killed process may take to exit before the test host stops waiting for it.</summary>
    public static readonly TimeSpan ExitLimit = TimeSpan.FromSeconds(30);

    /// <summary>SIGKILL to <paramref name="process"/> and its children, then waits for it to exit, so the ports and files
    /// it held are free. The wait is bounded by <see cref="ExitLimit"/>: a process that outlasts it (stuck in the kernel)
    /// is killed once more and left to the system, since a cleanup that hangs ends the test host, and with it every test
    /// after it, at the run's hang timeout.</summary>
    public static async Task KillAndWaitAsync(this Process process)
    {
        Kill(process);
        try
        {
            await process.WaitForExitAsync().WaitAsync(ExitLimit);
        }
        catch (TimeoutException)
        {
            Kill(process);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // it exited between the check and the kill
        }
    }
}
