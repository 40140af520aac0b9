using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using SegCluster.Abstractions.Security;
using SegCluster.Node.Hosting;
using StackExchange.Redis;

namespace SegCluster.Cli.Remote;

/// <summary>An Orleans client of a Redis-clustered SegCluster: finds the gateways through Redis membership and
/// sends the cluster token with every call.</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    /// <summary>Connect timeout of the first connection to Redis; StackExchange.Redis' own default: generous for a Redis across a real network.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long the client looks for a gateway (a live node of the cluster) before it gives up: Orleans' own
    /// retries went on for about 3 minutes in silence when Redis was up but no node was, or --cluster-id was wrong.</summary>
    public static readonly TimeSpan DefaultGatewayWait = TimeSpan.FromSeconds(20);

    private readonly IHost _host;

    private ClusterConnection(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClusterConnection> ConnectAsync(string redis, string clusterId, string? token, CancellationToken cancellationToken,
        TimeSpan? gatewayWait = null)
    {
        var waitForGateway = gatewayWait ?? DefaultGatewayWait;
        var configuration = RedisConnection.Parse(redis, "--cluster");
        await ProbeRedisAsync(configuration, redis);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, clusterId));
            client.UseRedisClustering(o => o.ConfigurationOptions = configuration);
            if (!string.IsNullOrEmpty(token)) client.AddOutgoingGrainCallFilter(new ClusterTokenCallFilter(token));
            var giveUp = DateTime.UtcNow + waitForGateway;
            client.UseConnectionRetryFilter(async (_, ct) =>
            {
                if (DateTime.UtcNow >= giveUp) return false;
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                return true;
            });
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            throw new InvalidOperationException(RedisUnreachable(e) ? NoRedisAt(redis)
                : NoGateway(e) ? $"no node of cluster '{clusterId}' is registered in Redis {RedisConnection.Redacted(redis)} (waited {waitForGateway.TotalSeconds:0} s): " +
                    "start one (segcluster node, or docker compose up), or give the nodes' cluster id with --cluster-id (their Node:ClusterId)."
                : $"Could not connect to the cluster '{clusterId}' through Redis {RedisConnection.Redacted(redis)}: {e.Message}", e);
        }
        return new ClusterConnection(host);
    }

    /// <summary>
    /// One connection to Redis with a short timeout before the Orleans client starts. The client keeps retrying an
    /// unreachable Redis (AbortOnConnectFail off, which a node needs while Redis restarts) and gave up only after
    /// ~12-17 s of silence; a closed port now fails at once, a host that drops packets after <see cref="ProbeTimeout"/>.
    /// A plain TCP connect comes first: StackExchange.Redis reported a refused connection only at its ConnectTimeout
    /// once in a loaded CI run (5.1 s), where the operating system knows at once that nothing listens.
    /// </summary>
    private static async Task ProbeRedisAsync(ConfigurationOptions configuration, string redis)
    {
        foreach (var endpoint in configuration.EndPoints)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            using var timeout = new CancellationTokenSource(ProbeTimeout);
            try
            {
                await socket.ConnectAsync(endpoint, timeout.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                throw new InvalidOperationException(NoRedisAt(redis), e);
            }
        }

        var probe = configuration.Clone();
        (probe.AbortOnConnectFail, probe.ConnectRetry, probe.ConnectTimeout) = (true, 1, (int)ProbeTimeout.TotalMilliseconds);
        try
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(probe);
        }
        catch (RedisConnectionException e)
        {
            throw new InvalidOperationException(NoRedisAt(redis), e);
        }
    }

    private static string NoRedisAt(string redis) =>
        $"no Redis answered at {RedisConnection.Redacted(redis)}: is redis-server running there? --cluster (or SEGCLUSTER_CLUSTER) names the Redis the nodes were started with.";

    // A closed port or unknown host surfaces as StackExchange.Redis' connection or backlog-timeout exception (a
    // twenty-line dump of its internals), possibly wrapped by Orleans.
    private static bool RedisUnreachable(Exception e) => AnyCause(e, inner => inner is RedisConnectionException or RedisTimeoutException);

    /// <summary>Orleans' gateway manager found no gateway in the membership table (its message is the only sign).</summary>
    private static bool NoGateway(Exception e) => AnyCause(e, inner => inner.Message.Contains("Could not find any gateway", StringComparison.Ordinal));

    /// <summary>Whether <paramref name="e"/> or an exception it wraps passes <paramref name="test"/>.</summary>
    private static bool AnyCause(Exception e, Func<Exception, bool> test)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (test(inner)) return true;
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
