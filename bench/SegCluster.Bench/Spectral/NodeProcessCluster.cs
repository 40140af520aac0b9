using System.Diagnostics;
using System.Net.Sockets;
using SegCluster.Abstractions.Grains;
using SegCluster.Bench.Loopback;
using SegCluster.Cli.Remote;

namespace SegCluster.Bench.Spectral;

/// <summary>
/// A real cluster on this machine for `spectral-scale --processes`: redis-server and N `segcluster node` processes (the
/// segcluster.dll built beside this program) joined through it, each node one torch thread, and an Orleans client of
/// it. Disposing kills every process it started.
/// </summary>
internal sealed class NodeProcessCluster : IAsyncDisposable
{
    private const string RedisBinary = "/usr/bin/redis-server";
    private readonly List<Process> _processes = [];
    private ClusterConnection? _connection;

    public IClusterClient Client => _connection?.Client ?? throw new InvalidOperationException("not connected");

    public static async Task<NodeProcessCluster> StartAsync(int nodes, TimeSpan timeout)
    {
        if (!File.Exists(RedisBinary)) throw new ArgumentException($"--processes needs {RedisBinary} (apt-get install redis-server).");
        var cluster = new NodeProcessCluster();
        try
        {
            var redisPort = LoopbackTcp.FreePort();
            cluster.Start(RedisBinary, [], "--port", $"{redisPort}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no");
            var redis = $"127.0.0.1:{redisPort}";
            await WaitListeningAsync(redisPort, timeout);
            var dll = Path.Combine(AppContext.BaseDirectory, "segcluster.dll");
            for (var n = 1; n <= nodes; n++)
                cluster.Start("dotnet", new() { ["SEGCLUSTER_Node__TorchThreads"] = "1", ["SEGCLUSTER_Logging__LogLevel__Default"] = "Warning" },
                    dll, "node", "--redis", redis, "--node-id", $"n{n}", "--http-port", $"{LoopbackTcp.FreePort()}",
                    "--collective-port", $"{LoopbackTcp.FreePort()}", "--silo-port", $"{LoopbackTcp.FreePort()}", "--gateway-port", $"{LoopbackTcp.FreePort()}",
                    "--checkpoint-dir", Path.GetTempPath());
            cluster._connection = await ClusterConnection.ConnectAsync(redis, "segcluster", token: null, CancellationToken.None);
            await cluster.WaitForNodesAsync(nodes, timeout);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private void Start(string file, Dictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        _processes.Add(process);
    }

    private static async Task WaitListeningAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Every node registers its worker with the scheduler once its silo has joined: count them.</summary>
    private async Task WaitForNodesAsync(int nodes, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var snapshot = await Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default).GetSnapshotAsync();
            var joined = snapshot.Workers.Select(w => w.Worker.NodeId).Distinct().Count();
            if (joined >= nodes) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{joined} of {nodes} nodes joined within {timeout}.");
            await Task.Delay(500);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
        foreach (var process in Enumerable.Reverse(_processes))
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }
}
