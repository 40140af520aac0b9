using System.Net;
using System.Net.Sockets;

namespace SegCluster.Tests.Shared;

/// <summary>
/// Ports on 127.0.0.1 for servers a test starts itself or in a child process (redis-server, prometheus, `segcluster node`).
/// They come from below the kernel's ephemeral range: a port taken from there by binding port 0 and released could be
/// handed out again, for an outgoing connection or another bind to port 0, before the child binds it. A CI run lost a
/// node that way (two nodes given 41303). Each port is handed out once per test host, and test hosts running side
/// by side start at different offsets.
/// </summary>
internal static class LoopbackPorts
{
    private static readonly Lock Gate = new();
    private static readonly (int First, int Count) Range = BelowEphemeralRange();
    private static int _next = Environment.ProcessId * 131 % Range.Count;

    public static int Next()
    {
        lock (Gate)
        {
            for (var tried = 0; tried < Range.Count; tried++)
            {
                var port = Range.First + _next++ % Range.Count;
                if (IsFree(port)) return port;
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
                if (port + 1 < Range.First + Range.Count && IsFree(port) && IsFree(port + 1))
                {
                    _next++;  // port + 1 is handed out too
                    return port;
                }
            }
        }
        throw new InvalidOperationException($"no two consecutive free ports on 127.0.0.1 in {Range.First}-{Range.First + Range.Count - 1}");
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
