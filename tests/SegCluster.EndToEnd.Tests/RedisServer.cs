using System.Diagnostics;
using System.Net.Sockets;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The real redis-server (apt package) as a child process on 127.0.0.1 and a free port, no persistence.</summary>
internal sealed class RedisServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/redis-server";
    public const string MissingReason = "redis-server is not installed (apt-get install redis-server; ./build.sh test installs it)";

    private readonly Process _process;

    private RedisServer(Process process, int port) => (_process, Port) = (process, port);

    public int Port { get; }
    public string Address => $"127.0.0.1:{Port}";

    public static bool Installed => File.Exists(Binary);

    public static async Task<RedisServer> StartAsync()
    {
        var port = CliProcess.FreePort();
        var info = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" }) info.ArgumentList.Add(a);
        var server = new RedisServer(Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server"), port);
        _ = server._process.StandardOutput.ReadToEndAsync();
        _ = server._process.StandardError.ReadToEndAsync();
        for (var attempt = 0; attempt < 100 && !server._process.HasExited; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        await server.DisposeAsync();
        throw new TimeoutException($"redis-server did not listen on {port}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}

/// <summary>A [Fact] that is skipped, with the reason, where redis-server is not installed.</summary>
public sealed class RequiresRedisFactAttribute : FactAttribute
{
    public RequiresRedisFactAttribute()
    {
        if (!RedisServer.Installed) Skip = RedisServer.MissingReason;
    }
}
