using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SegCluster.Cluster.Nodes;

/// <summary>
/// Sets torch's process-wide intra-op thread count once at start-up, so K CPU workers in one process do
/// not oversubscribe the cores (each would otherwise spawn a full-width pool).
/// </summary>
public sealed class TorchThreadsInitializer(IOptions<NodeOptions> options, ILogger<TorchThreadsInitializer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var threads = options.Value.EffectiveTorchThreads;
        TorchSharp.torch.set_num_threads(threads);
        logger.LogInformation("torch {Version}: {Threads} intra-op threads for {Workers} worker(s)",
            TorchSharp.torch.__version__, threads, options.Value.Devices.Count);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
