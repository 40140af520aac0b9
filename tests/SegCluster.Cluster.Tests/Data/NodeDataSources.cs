using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Telemetry;

namespace SegCluster.Cluster.Tests.Data;

/// <summary>What a node wires for <see cref="TrainingDataSources"/> (real metrics, default options), for tests; disposing it ends the metrics.</summary>
internal sealed class NodeDataSources : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().AddSingleton<SegClusterMetrics>().BuildServiceProvider();

    /// <summary>A node's sources of its own: nothing shared with the others this creates.</summary>
    public TrainingDataSources Create() => new(Microsoft.Extensions.Options.Options.Create(new DataOptions()),
        _services.GetRequiredService<SegClusterMetrics>(), NullLogger<TrainingDataSources>.Instance);

    public void Dispose() => _services.Dispose();
}
