using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Vision.Devices;

namespace SegCluster.Cluster.Nodes;

/// <summary>
/// Process-wide torch settings for the node's lifetime: the intra-op thread count, set once so K CPU
/// workers in one process do not oversubscribe the cores (each would otherwise use a full-width pool),
/// and the filter that keeps libtorch's repeated NNPACK warning out of the log.
/// </summary>
public sealed class TorchRuntimeService(IOptions<NodeOptions> options, ILogger<TorchRuntimeService> logger) : IHostedService
{
    private NativeWarningFilter? _warnings;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _warnings = NativeWarningFilter.Install();
        var threads = options.Value.EffectiveTorchThreads;
        TorchSharp.torch.set_num_threads(threads);
        logger.LogInformation("torch {Version}: {Threads} intra-op thread(s) for {Workers} worker(s); oneDNN ISA cap {Isa}",
            TorchSharp.torch.__version__, threads, options.Value.Devices.Count, OneDnnIsaLimit.Effective ?? "none");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _warnings?.Dispose();
        return Task.CompletedTask;
    }
}
