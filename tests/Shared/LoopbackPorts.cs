using System.Net;
using System.Net.Sockets;

namespace SegCluster.Tests.Shared;

/// <summary>
/// Ports on 127.0.0.1 for servers a test starts itself or in a child process (redis-server, prometheus, `segcluster node`).
/// They come from below the kernel's ephemeral range: a port taken from there by binding port 0 and released could be
/// handed out again, for an outgoing connection or another bind to port 0, before the child binds it. A CI run lost a
/// node that way (two nodes given 41303). Each port is handed out once per test host, and once across the test hosts of
/// this machine (those of one run, and of other checkouts running tests): a port is handed out only to the host that
/// locks its file in <see cref="LockFolder"/>, and stays locked for that host's lifetime; the system drops the lock
/// when the process ends, however it ends. Free-now checks alone let two hosts hand out one port whose child had not
/// bound it yet, and the start offsets (by process id) of hosts side by side could nearly coincide.
/// </summary>
internal static class LoopbackPorts
{
    private static readonly Lock Gate = new();
    private static readonly (int First, int Count) Range = BelowEphemeralRange();
    private static int _next = Environment.ProcessId * 131 % Range.Count;
    private static readonly string LockFolder = Path.Combine(Path.GetTempPath(), "segcluster-test-ports");
    /// <summary>The lock files of the ports this test host handed out, open until it exits.</summary>
    private static readonly List<FileStream> Claimed = [];

    public static int Next()
    {
        lock (Gate)
        {
            for (var tried = 0; tried < Range.Count; tried++)
            {
                var port = Range.First + _next++ % Range.Count;
                if (IsFree(port) && TryClaim(port)) return port;
            }
        }
        throw new InvalidOperationException($"no free port on 127.0.0.1 in {Range.First}-{Range.First + Range.Count - 1}");
    }

    /// <summary>A port p with p and p + 1 both free now (a two-port range, e.g. Collectives:DataPlanePorts), each handed out
    /// once like <see cref="Next"/>'s.</summary>
    public static int NextPair()
    {
        lock (Gate)
        {
            for (var tried = 0; tried < Range.Count; tried++)
            {
                var port = Range.First + _next++ % Range.Count;
                if (port + 1 < Range.First + Range.Count && IsFree(port) && IsFree(port + 1) && TryClaim(port))
                {
                    _next++;  // port + 1 is handed out too
                    if (TryClaim(port + 1)) return port;  // else port stays claimed, unused
                }
            }
        }
        throw new InvalidOperationException($"no two consecutive free ports on 127.0.0.1 in {Range.First}-{Range.First + Range.Count - 1}");
    }

    /// <summary>Locks <paramref name="port"/>'s file for this test host's lifetime; false when another host holds it.
    /// Where the folder cannot be written (another user's), ports go unlocked, as before the lock files.</summary>
    private static bool TryClaim(int port)
    {
        try
        {
            Directory.CreateDirectory(LockFolder);
            Claimed.Add(new FileStream(Path.Combine(LockFolder, $"{port}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
        catch (IOException)
        {
            return false;  // locked by another test host (FileShare.None is an exclusive lock of the file on Linux too)
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static (int First, int Count) BelowEphemeralRange()
    {
        const int first = 10000;
        var ephemeralStart = 32768; // Linux default
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            ephemeralStart = int.Parse(parts[0]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // not Linux or not readable: keep the default
        }
        return ephemeralStart - first >= 1000 ? (first, ephemeralStart - first) : (1024, Math.Max(1000, ephemeralStart - 1024));
    }
}
