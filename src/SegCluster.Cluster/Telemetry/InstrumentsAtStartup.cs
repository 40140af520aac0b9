using Microsoft.Extensions.Hosting;

namespace SegCluster.Cluster.Telemetry;

/// <summary>Creates the node's instruments at start-up, so /metrics shows process memory before any training.</summary>
public sealed class InstrumentsAtStartup(SegClusterMetrics metrics) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(metrics);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
