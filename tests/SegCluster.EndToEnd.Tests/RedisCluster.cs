using System.Net.Http.Headers;
using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>A real redis-server and N `segcluster node` processes joined through it, with one cluster token and
/// a shared checkpoint folder; status is read through a node's HTTP API. On loopback, or each node in a host of its
/// own on a <see cref="PrivateNetwork"/> (Redis on the network's address of the test's namespace).</summary>
internal sealed class RedisCluster : IAsyncDisposable
{
    public const string Token = "e2e-cluster-token";

    private readonly DirectoryInfo _dir;

    private RedisCluster(RedisServer redis, DirectoryInfo dir, List<ClusterNodeProcess> nodes)
    {
        (Redis, _dir, Nodes) = (redis, dir, nodes);
    }

    public RedisServer Redis { get; }
    public List<ClusterNodeProcess> Nodes { get; }
    public string CheckpointDirectory => Path.Combine(_dir.FullName, "checkpoints");

    /// <param name="persistentRedis">Redis keeps an append-only file in the cluster's folder, so it can be restarted.</param>
    /// <param name="workersPerNode">CPU workers (devices) of each node.</param>
    /// <param name="network">Runs node nI in a host "nI" of this network (the caller disposes it, after the cluster).</param>
    /// <param name="environment">Settings for every node (SEGCLUSTER_… variables).</param>
    public static async Task<RedisCluster> StartAsync(int nodes, bool persistentRedis = false, int workersPerNode = 1, PrivateNetwork? network = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var dir = Directory.CreateTempSubdirectory("segcluster-cluster-");
        var redis = await RedisServer.StartAsync(persistentRedis ? dir.CreateSubdirectory("redis").FullName : null, network?.HostAddress ?? "127.0.0.1");
        var cluster = new RedisCluster(redis, dir, []);
        try
        {
            for (var i = 1; i <= nodes; i++)
                cluster.Nodes.Add(ClusterNodeProcess.Start(redis.Address, $"n{i}", Token, cluster.CheckpointDirectory,
                    string.Join(',', Enumerable.Repeat("cpu", workersPerNode)), network?.AddHost($"n{i}"), environment));
            await cluster.WaitForWorkersAsync(nodes * workersPerNode, TimeSpan.FromMinutes(3));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();  // the nodes started so far would outlive the test (and keep their namespaces)
            throw;
        }
    }

    /// <summary>An HTTP client of a live node's API carrying <paramref name="token"/> (null = none); unless told, the
    /// first node that runs and is not cut off the network.</summary>
    public HttpClient Api(string? token = Token, ClusterNodeProcess? node = null)
    {
        node ??= Nodes.First(n => !n.HasExited && n.Host?.IsCut != true);
        var http = new HttpClient { BaseAddress = new Uri($"http://{node.Address}:{node.HttpPort}"), Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public async Task<JsonElement> StatusAsync(string experimentId)
    {
        using var http = Api();
        return JsonDocument.Parse(await http.GetStringAsync($"/api/experiments/{experimentId}")).RootElement.Clone();
    }

    /// <summary>Polls the experiment (a child process changes it; there is no event to await) until <paramref name="done"/>,
    /// every <paramref name="interval"/> (1 s unless told).</summary>
    public async Task<JsonElement> WaitForAsync(string experimentId, Func<JsonElement, bool> done, TimeSpan timeout, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement status = default;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                status = await StatusAsync(experimentId);
                if (done(status)) return status;
            }
            catch (Exception e) when (HttpPolling.IsNoAnswer(e))
            {
                // the node answering may be the one just killed, or the coordinator is moving
            }
            await Task.Delay(interval ?? TimeSpan.FromSeconds(1));
        }
        throw new TimeoutException($"experiment {experimentId} did not reach the expected state within {timeout}; last: {status}\n{NodeLogs()}");
    }

    public string NodeLogs() => string.Join("\n", Nodes.Select(n => n.Output()));

    public async Task WaitForWorkersAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var http = Api();
                var snapshot = JsonDocument.Parse(await http.GetStringAsync("/api/scheduler")).RootElement;
                if (snapshot.GetProperty("workers").GetArrayLength() >= count) return;
            }
            catch (Exception e) when (HttpPolling.IsNoAnswer(e))
            {
                // nodes still starting
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        throw new TimeoutException($"{count} workers did not register within {timeout}\n{NodeLogs()}");
    }

    /// <summary>A tiny spec file: 32×32 images, width-8 GroupNorm SPGNet, 2 workers × batch 2 unless told.</summary>
    public string WriteSpec(int steps, int checkpointEvery, int workers = 2, int batchPerWorker = 2)
    {
        var path = Path.Combine(_dir.FullName, $"spec-{steps}-{checkpointEvery}-{workers}x{batchPerWorker}.yaml");
        File.WriteAllText(path, SpecYaml(steps, checkpointEvery, workers, batchPerWorker));
        return path;
    }

    /// <summary>The cluster tests' experiment: a width-8 SPGNet (GroupNorm) at 32×32, fixed seed.</summary>
    public static string SpecYaml(int steps, int checkpointEvery, int workers = 2, int batchPerWorker = 2) => $"""
        name: e2e
        workers: {workers}
        seed: 3
        dataset:
          height: 32
          width: 32
          train_count: 64
          validation_count: 8
        model:
          width: 8
          norm: gn
        training:
          steps: {steps}
          batch_per_worker: {batchPerWorker}
          checkpoint_every: {checkpointEvery}
          evaluation_batch: 4
        """;

    public Task<(int ExitCode, string Stdout, string Stderr)> CliAsync(TimeSpan timeout, params string[] args) =>
        CliProcess.RunAsync(timeout, [.. args, "--cluster", Redis.Address, "--token", Token]);

    /// <summary>Stops every node (each one even if another fails to), then Redis, then deletes the folder, each whatever
    /// the step before threw: what is left running outlives the test and holds its ports.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await Task.WhenAll(Nodes.Select(n => n.DisposeAsync().AsTask()));
        }
        finally
        {
            try
            {
                await Redis.DisposeAsync();
            }
            finally
            {
                _dir.Delete(recursive: true);
            }
        }
    }
}
