using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using SegCluster.Collectives;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A node on Redis with a cluster token refuses every endpoint without it: the HTTP API (401), the gRPC
/// collective (Unauthenticated / PermissionDenied) and Orleans client calls from the CLI (exit 3, saying whether the
/// token was missing or refused); a refused submission changes nothing. /health and /metrics stay open for probes and scrapers (documented).
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterTokenTests
{
    private static readonly (HttpMethod Method, string Path)[] ApiEndpoints =
    [
        (HttpMethod.Get, "/api/scheduler"),
        (HttpMethod.Get, "/api/experiments/x"),
        (HttpMethod.Post, "/api/experiments/x"),
        (HttpMethod.Post, "/api/experiments/x/cancel"),
        (HttpMethod.Get, "/dashboard"),
    ];

    [RequiresRedisFact]
    public async Task Every_endpoint_refuses_missing_and_wrong_tokens_and_nothing_changes()
    {
        await using var cluster = await RedisCluster.StartAsync(nodes: 1);
        var node = cluster.Nodes[0];

        foreach (var token in new[] { null, "wrong-token" })
        {
            using var http = cluster.Api(token);
            foreach (var (method, path) in ApiEndpoints)
            {
                using var request = new HttpRequestMessage(method, path);
                if (method == HttpMethod.Post) request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
                using var response = await http.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with token '{token}': {response.StatusCode}");
                Assert.DoesNotContain(RedisCluster.Token, await response.Content.ReadAsStringAsync());
            }
        }
        using (var open = cluster.Api(token: null))
        {
            Assert.Equal(HttpStatusCode.OK, (await open.GetAsync("/health")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await open.GetAsync("/metrics")).StatusCode);
        }

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{node.CollectivePort}");
        var collective = new Collective.CollectiveClient(channel);
        foreach (var (header, expected) in new[] { ((string?)null, StatusCode.Unauthenticated), ("Bearer wrong-token", StatusCode.PermissionDenied) })
        {
            var headers = new Metadata();
            if (header is not null) headers.Add("authorization", header);
            var error = await Assert.ThrowsAsync<RpcException>(async () => await collective.DepositAsync(Chunk(), headers));
            Assert.Equal(expected, error.StatusCode);
            var abort = new AbortMessage { GroupId = "refused", SourceRank = 0, DestinationRank = 1, Sequence = 0, OriginRank = 0, Reason = "forged" };
            var abortError = await Assert.ThrowsAsync<RpcException>(async () => await collective.AbortAsync(abort, headers));
            Assert.Equal(expected, abortError.StatusCode);
        }

        // An Orleans client without the token, or with a wrong one, connects but reaches no grain: neither Orleans'
        // management grain (it forces activation collection) nor a system target addressed directly (silo control forces
        // garbage and activation collection: every system target used to be exempt). With the token it reaches both.
        SiloAddress silo;
        await using (var client = await Cli.Remote.ClusterConnection.ConnectAsync(cluster.Redis.Address, "segcluster", RedisCluster.Token, CancellationToken.None))
        {
            silo = Assert.Single((await client.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Keys);
            await SiloControl.ForceGarbageCollectionAsync(client.Client, silo);
        }
        foreach (var token in new[] { null, "wrong-token" })
        {
            await using var client = await Cli.Remote.ClusterConnection.ConnectAsync(cluster.Redis.Address, "segcluster", token, CancellationToken.None);
            var hosts = client.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            Assert.Contains("Permission denied", (await Assert.ThrowsAsync<UnauthorizedAccessException>(() => hosts)).Message);
            var collected = SiloControl.ForceGarbageCollectionAsync(client.Client, silo);
            Assert.Contains("Permission denied", (await Assert.ThrowsAsync<UnauthorizedAccessException>(() => collected)).Message);
        }

        var spec = cluster.WriteSpec(steps: 2, checkpointEvery: 0);
        foreach (var args in new[] { new[] { "status" }, ["train", spec, "--id", "refused"], ["cancel", "refused"] })
        {
            var (exit, _, stderr) = await CliProcess.RunAsync(TimeSpan.FromMinutes(2), [.. args, "--cluster", cluster.Redis.Address, "--token", "wrong-token"]);
            Assert.True(exit == 3, $"{string.Join(' ', args)}: exit {exit}, {stderr}");
            Assert.Contains("Permission denied: the cluster token was refused", stderr);
            Assert.DoesNotContain(RedisCluster.Token, stderr);
            // A missing token is told apart from a wrong one, with the variable to set.
            using var noToken = CliProcess.StartAt(CliProcess.DefaultDll, new Dictionary<string, string?> { ["SEGCLUSTER_TOKEN"] = null }, [.. args, "--cluster", cluster.Redis.Address]);
            var (noTokenExit, _, noTokenError) = await noToken.WaitAsync(TimeSpan.FromMinutes(2));
            Assert.Equal(3, noTokenExit);
            Assert.Contains("none was given; set SEGCLUSTER_TOKEN", noTokenError);
        }

        // Nothing was submitted: the scheduler holds no worker and the id is unknown.
        var (statusExit, stdout, _) = await cluster.CliAsync(TimeSpan.FromMinutes(2), "status");
        Assert.Equal(0, statusExit);
        Assert.Contains("free", stdout);
        Assert.Contains("queue: empty", stdout);
        using var api = cluster.Api();
        using var unknown = await api.GetAsync("/api/experiments/refused");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    private static ChunkMessage Chunk() => new()
    {
        GroupId = "refused",
        SourceRank = 0,
        DestinationRank = 1,
        Sequence = 0,
        Step = 0,
        Chunk = 0,
        TotalLength = 2,
        Payload = Google.Protobuf.ByteString.CopyFrom(new byte[8]),
    };

    /// <summary>Orleans' silo-control system target, addressed as the runtime does (its interface is internal to Orleans,
    /// hence reflection; a hostile client needs none).</summary>
    private static class SiloControl
    {
        private static readonly Type Interface = typeof(IManagementGrain).Assembly.GetType("Orleans.ISiloControl", throwOnError: true)!;

        public static Task ForceGarbageCollectionAsync(IGrainFactory grains, SiloAddress silo)
        {
            var id = SystemTargetGrainId.Create(SystemTargetGrainId.CreateGrainType("silo-control"), silo).GrainId;
            var getGrain = typeof(IGrainFactory).GetMethod(nameof(IGrainFactory.GetGrain), 1, [typeof(GrainId)])!.MakeGenericMethod(Interface);
            var target = getGrain.Invoke(grains, [id])!;
            var collect = Interface.GetMethod("ForceGarbageCollection")!;
            return (Task)collect.Invoke(target, collect.GetParameters().Select(p => p.DefaultValue).ToArray())!;
        }
    }
}
