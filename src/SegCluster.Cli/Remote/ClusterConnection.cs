using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using SegCluster.Abstractions.Security;
using SegCluster.Node.Hosting;

namespace SegCluster.Cli.Remote;

/// <summary>An Orleans client of a Redis-clustered SegCluster: finds the gateways through Redis membership and
/// sends the cluster token with every call.</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterConnection(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClusterConnection> ConnectAsync(string redis, string clusterId, string? token, CancellationToken cancellationToken)
    {
        var configuration = RedisConnection.Parse(redis);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, clusterId));
            client.UseRedisClustering(o => o.ConfigurationOptions = configuration);
            if (!string.IsNullOrEmpty(token)) client.AddOutgoingGrainCallFilter(new ClusterTokenCallFilter(token));
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            throw new InvalidOperationException(RedisUnreachable(e)
                ? $"no Redis answered at {redis}: is redis-server running there? --cluster (or SEGCLUSTER_CLUSTER) names the Redis the nodes were started with."
                : $"Could not connect to the cluster '{clusterId}' through Redis {redis}: {e.Message}", e);
        }
        return new ClusterConnection(host);
    }

    // A closed port or unknown host surfaces as StackExchange.Redis' connection or backlog-timeout exception (a
    // twenty-line dump of its internals), possibly wrapped by Orleans.
    private static bool RedisUnreachable(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is StackExchange.Redis.RedisConnectionException or StackExchange.Redis.RedisTimeoutException) return true;
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
