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
            throw new InvalidOperationException($"Could not connect to the cluster '{clusterId}' through Redis {redis}: {e.Message}", e);
        }
        return new ClusterConnection(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
