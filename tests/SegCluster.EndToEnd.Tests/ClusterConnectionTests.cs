using System.Net.Sockets;
using SegCluster.Cli.Remote;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`--cluster` naming a port where no Redis listens (a typo, Redis not started) printed StackExchange.Redis'
/// twenty-line timeout dump after ~12-17 s of silence; the error now comes at once and says that nothing answered
/// there and which option names the address. A malformed address names --cluster, not the node's Node:Redis.</summary>
public sealed class ClusterConnectionTests
{
    /// <summary>Fails a connection attempt that hangs (Orleans' own gateway retries went on for about 3 minutes); not a
    /// bound on how fast the error must come.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task No_redis_at_the_address_is_named_as_such_at_once()
    {
        // Free and below the ephemeral range: a port bound as 0 and released could be handed to another socket before the test dials it.
        var closedPort = LoopbackPorts.Next();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ClusterConnection.ConnectAsync($"127.0.0.1:{closedPort}", "segcluster", token: null, CancellationToken.None)).WaitAsync(HangGuard);

        // A refused connection is known at once, from the plain TCP probe; the Orleans client's retries (which end in a
        // Redis connection error, wrapped) took over 10 s to give up.
        var refused = Assert.IsType<SocketException>(error.InnerException);
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.StartsWith($"no Redis answered at 127.0.0.1:{closedPort}", error.Message);
        Assert.Contains("--cluster", error.Message);
        Assert.DoesNotContain("backlog", error.Message);
    }

    /// <summary>Redis up, no node of the cluster id registered (none started, or a wrong --cluster-id): the client's retries went
    /// on for about 3 minutes in silence, then printed Orleans' "Could not find any gateway in '...RedisGatewayListProvider'".</summary>
    [RequiresRedisFact]
    public async Task Redis_without_a_node_of_the_cluster_says_to_start_one_or_check_the_cluster_id()
    {
        await using var redis = await RedisServer.StartAsync();
        // Given up after gatewayWait by the client's retry filter: without it Orleans' own retries outlast the hang guard.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ClusterConnection.ConnectAsync(redis.Address, "nobody-here", token: null, CancellationToken.None, gatewayWait: TimeSpan.FromSeconds(3))).WaitAsync(HangGuard);

        Assert.StartsWith($"no node of cluster 'nobody-here' is registered in Redis {redis.Address} (waited 3 s)", error.Message);
        Assert.Contains("--cluster-id", error.Message);
    }

    [Fact]
    public async Task A_malformed_address_names_the_cluster_option()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            ClusterConnection.ConnectAsync("foo:bar", "segcluster", token: null, CancellationToken.None));
        Assert.StartsWith("--cluster 'foo:bar' is not a Redis address; use HOST:PORT", error.Message);
    }
}
