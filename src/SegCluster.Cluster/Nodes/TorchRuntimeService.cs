using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Vision.Devices;

namespace SegCluster.Cluster.Nodes;

/// <summary>
/// Process-wide torch setting for the node: the intra-op thread count, set once so K CPU workers in one
/// process do not oversubscribe the cores (each would otherwise use a full-width pool). The filter of
/// libtorch's repeated NNPACK warning is installed by the process entry points (Node, CLI).
/// </summary>
public sealed class TorchRuntimeService(IOptions<NodeOptions> options, ILogger<TorchRuntimeService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var threads = options.Value.EffectiveTorchThreads;
        TorchSharp.torch.set_num_threads(threads);
        logger.LogInformation("torch {Version}: {Threads} intra-op thread(s) for {Workers} worker(s); oneDNN ISA cap {Isa}",
            TorchSharp.torch.__version__, threads, options.Value.Devices.Count, OneDnnIsaLimit.Effective ?? "none");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
