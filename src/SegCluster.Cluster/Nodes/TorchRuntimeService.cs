using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Vision.Devices;

namespace SegCluster.Cluster.Nodes;

/// <summary>
/// Process-wide torch setting for the node: the intra-op thread count, set once so K CPU workers in one
/// process do not oversubscribe the cores (each would otherwise use a full-width pool). The filter of
/// libtorch's repeated NNPACK warning is installed by the process entry points (Node, CLI). Logs which malloc serves
/// the process, since that decides whether resident memory stays flat over a long run.
/// </summary>
public sealed class TorchRuntimeService(IOptions<NodeOptions> options, ILogger<TorchRuntimeService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var threads = options.Value.EffectiveTorchThreads;
        TorchSharp.torch.set_num_threads(threads);
        logger.LogInformation("torch {Version}: {Threads} intra-op thread(s) for {Workers} worker(s); oneDNN ISA cap {Isa}; malloc {Allocator}",
            TorchSharp.torch.__version__, threads, options.Value.Devices.Count, OneDnnIsaLimit.Effective ?? "none", NativeHeap.Allocator);
        // CPU tensors are malloc'd and freed every step; glibc's arenas fragment under that pattern (bench/README.md, training-overhead).
        if (NativeHeap.IsGlibc)
            logger.LogInformation("malloc is glibc's: its arenas fragment and resident memory creeps up over a long run; " +
                "LD_PRELOAD=libjemalloc.so.2 (package libjemalloc2; the node image sets it) kept it flat and trained no slower (bench/README.md)");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
