using System.Diagnostics;

namespace SegCluster.Tests.Shared;

/// <summary>Ending the processes a test starts (redis-server, prometheus, `segcluster node`).</summary>
internal static class ChildProcesses
{
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
