using System.Diagnostics;
using System.Net.Sockets;
using StackExchange.Redis;

namespace SegCluster.Tests.Shared;

/// <summary>
/// The real redis-server (apt package; on PATH) as a child process on 127.0.0.1 (or another address of this machine) and a free
/// port. By default nothing is persisted; with a data folder it writes an append-only file (fsync every write) so <see cref="RestartAsync"/>
/// (kill -9, then a new server on the same port and folder) brings the cluster's membership and grain state back.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    /// <summary>redis-server on PATH, or null.</summary>
    public static string? Binary { get; } = Executables.OnPath("redis-server");
    public const string MissingReason = "redis-server is not on PATH (apt-get install redis-server; ./build.sh test installs it)";

    private readonly string? _dataDirectory;
    private Process _process;
    private bool _stopped;

    private RedisServer(Process process, string host, int port, string? dataDirectory) =>
        (_process, Host, Port, _dataDirectory) = (process, host, port, dataDirectory);

    public string Host { get; }
    public int Port { get; }
    public string Address => $"{Host}:{Port}";

    public static bool Installed => Binary is not null;

    /// <param name="dataDirectory">Where the append-only file lives; null = no persistence.</param>
    /// <param name="host">The address it listens on: loopback, or one of a test's private network (PrivateNetwork).</param>
    public static async Task<RedisServer> StartAsync(string? dataDirectory = null, string host = "127.0.0.1")
    {
        var port = LoopbackPorts.Next();
        var server = new RedisServer(Launch(host, port, dataDirectory), host, port, dataDirectory);
        await server.WaitListeningAsync();
        return server;
    }

    /// <summary>SIGKILL (no final save), then a new server on the same port reading the same append-only file.</summary>
    public async Task RestartAsync()
    {
        if (_dataDirectory is null) throw new InvalidOperationException("a server without a data folder would come back empty");
        await StopAsync();
        (_process, _stopped) = (Launch(Host, Port, _dataDirectory), false);
        await WaitListeningAsync();
    }

    /// <summary>Deletes every key (FLUSHALL), as a server restarted without persistence comes back.</summary>
    public async Task FlushAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{Address},allowAdmin=true");
        await admin.GetServer(Address).FlushAllDatabasesAsync();
    }

    /// <summary>From now on every write is refused ("OOM command not allowed", as by a Redis at its memory limit), or,
    /// with false, taken again; reads go on either way.</summary>
    public async Task RefuseWritesAsync(bool refuse = true)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{Address},allowAdmin=true");
        await admin.GetServer(Address).ConfigSetAsync("maxmemory", refuse ? "1" : "0");
    }

    /// <summary>How many writes the server refused for lack of memory (INFO errorstats).</summary>
    public async Task<long> RefusedWritesAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{Address},allowAdmin=true");
        var stat = (await admin.GetServer(Address).InfoAsync("errorstats")).SelectMany(g => g).FirstOrDefault(p => p.Key == "errorstat_OOM").Value;
        return stat is null ? 0 : long.Parse(stat.Split(',')[0].Split('=')[1]);  // "count=N"
    }

    private static Process Launch(string host, int port, string? dataDirectory)
    {
        var info = new ProcessStartInfo(Binary ?? throw new InvalidOperationException(MissingReason)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] persistence = dataDirectory is null
            ? ["--save", "", "--appendonly", "no"]
            : ["--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dataDirectory];
        // Off the loopback, protected mode (on by default without a password) would refuse every client.
        foreach (var a in new[] { "--port", port.ToString(), "--bind", host, "--protected-mode", "no" }.Concat(persistence)) info.ArgumentList.Add(a);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }

    private async Task WaitListeningAsync()
    {
        for (var attempt = 0; attempt < 100 && !_process.HasExited; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(Host, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        await StopAsync();
        throw new TimeoutException($"redis-server did not listen on {Port}");
    }

    private async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await _process.KillAndWaitAsync();
        _process.Dispose();
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}

/// <summary>A [Fact] that is skipped, with the reason, where redis-server is not installed.</summary>
public sealed class RequiresRedisFactAttribute : FactAttribute
{
    public RequiresRedisFactAttribute()
    {
        if (!RedisServer.Installed) Skip = RedisServer.MissingReason;
    }
}
