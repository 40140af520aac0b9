using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SegCluster.Bench.Loopback;

/// <summary>
/// The wire's bound: one TCP stream over 127.0.0.1 between two processes, the same path the ring's
/// HTTP/2 connections take. A child process (<c>loopback-sink</c>) reads and discards; this side sends.
/// </summary>
internal static class LoopbackTcp
{
    private const int WriteBytes = 1 << 20;

    /// <summary>
    /// Best of <paramref name="repeats"/> transfers of <paramref name="bytes"/> on each of <paramref name="streams"/>
    /// concurrent connections, in bytes per second per stream. One stream is the wire's bound; W streams at once
    /// is what a ring of W puts on loopback (every link busy), where the kernel's copies share the same cores.
    /// </summary>
    public static async Task<double> MeasureAsync(long bytes, int repeats, Func<int, Process> startSink, int streams = 1)
    {
        var port = FreePort();
        using var sink = startSink(port);
        try
        {
            var best = 0.0;
            var payload = new byte[WriteBytes];
            Random.Shared.NextBytes(payload);
            for (var r = 0; r < repeats; r++)
            {
                var clients = new List<TcpClient>();
                try
                {
                    for (var s = 0; s < streams; s++) clients.Add(await ConnectAsync(port));
                    var clock = Stopwatch.StartNew();
                    await Task.WhenAll(clients.Select(client => Task.Run(() => SendAsync(client, payload, bytes))));
                    best = Math.Max(best, bytes / clock.Elapsed.TotalSeconds);
                }
                finally
                {
                    foreach (var client in clients) client.Dispose();
                }
            }
            return best;
        }
        finally
        {
            if (!sink.HasExited) sink.Kill();
        }
    }

    private static async Task SendAsync(TcpClient client, byte[] payload, long bytes)
    {
        var stream = client.GetStream();
        for (long sent = 0; sent < bytes; sent += WriteBytes)
            await stream.WriteAsync(payload.AsMemory(0, (int)Math.Min(WriteBytes, bytes - sent)));
        client.Client.Shutdown(SocketShutdown.Send);
        var ack = new byte[1];
        if (await stream.ReadAsync(ack) != 1) throw new IOException("the loopback sink closed without acknowledging");
    }

    /// <summary>The child side: accepts connections on <paramref name="port"/>, drains each concurrently, acknowledges with one byte.</summary>
    public static async Task<int> SinkAsync(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        while (true)
        {
            var client = await listener.AcceptTcpClientAsync();
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    var buffer = new byte[WriteBytes];
                    using var stream = client.GetStream();
                    while (await stream.ReadAsync(buffer) > 0) { }
                    await stream.WriteAsync(new byte[] { 1 });
                }
            });
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<TcpClient> ConnectAsync(int port, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var client = new TcpClient { NoDelay = true };
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                return client;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                client.Dispose();
                await Task.Delay(100);
            }
        }
    }
}
