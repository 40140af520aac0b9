using System.Collections.Concurrent;
using SegCluster.Abstractions.Spectral;
using SegCluster.Cluster.Spectral;
using SegCluster.Vision.Spectral;

namespace SegCluster.Cluster.Tests.Spectral;

/// <summary>
/// The real analyser, counting computations per shard; optionally the first computation of some shards fails after
/// the work is done (a node lost before it could answer), or blocks until released (a node that will be killed).
/// </summary>
internal sealed class CountingShardAnalyser : IShardSpectralAnalyser
{
    private readonly ShardSpectralAnalyser _inner = new();

    public ConcurrentDictionary<int, int> Computations { get; } = new();

    public HashSet<int> FailFirst { get; init; } = [];

    /// <summary>How long each computation takes at least (a large shard).</summary>
    public TimeSpan Delay { get; init; }

    public HashSet<int> BlockFirst { get; } = [];

    /// <summary>Completes when a blocked shard has started.</summary>
    public TaskCompletionSource<int> Blocked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Blocked computations wait for this.</summary>
    public ManualResetEventSlim Release { get; } = new(false);

    public SpectralStatistics Analyse(SpectralShardRequest request, CancellationToken cancellationToken)
    {
        var count = Computations.AddOrUpdate(request.Shard, 1, (_, c) => c + 1);
        var statistics = _inner.Analyse(request, cancellationToken);
        Thread.Sleep(Delay);
        if (count == 1 && BlockFirst.Contains(request.Shard))
        {
            Blocked.TrySetResult(request.Shard);
            Release.Wait(TimeSpan.FromMinutes(2));
            throw new InvalidOperationException($"shard {request.Shard}: its node was killed");
        }
        if (count == 1 && FailFirst.Contains(request.Shard))
            throw new InvalidOperationException($"shard {request.Shard}: simulated loss of the node before it answered");
        return statistics;
    }
}
