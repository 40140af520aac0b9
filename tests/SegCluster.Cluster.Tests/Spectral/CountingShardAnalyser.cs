using System.Collections.Concurrent;
using SegCluster.Abstractions.Spectral;
using SegCluster.Cluster.Spectral;
using SegCluster.Vision.Spectral;

namespace SegCluster.Cluster.Tests.Spectral;

/// <summary>
/// The real analyser, counting computations per shard; optionally every computation waits for the test to open a gate
/// (a large shard), or the first computation of some shards fails after the work is done (a node lost before it could
/// answer), or blocks until released (a node that will be killed).
/// </summary>
internal sealed class CountingShardAnalyser : IShardSpectralAnalyser
{
    private readonly ShardSpectralAnalyser _inner = new();

    public ConcurrentDictionary<int, int> Computations { get; } = new();

    public HashSet<int> FailFirst { get; init; } = [];

    /// <summary>When given, each computation ends only once the test sets it (a large shard: as long as the test needs).</summary>
    public ManualResetEventSlim? Gate { get; init; }

    public HashSet<int> BlockFirst { get; } = [];

    /// <summary>Completes when a blocked shard has started.</summary>
    public TaskCompletionSource<int> Blocked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Blocked computations wait for this.</summary>
    public ManualResetEventSlim Release { get; } = new(false);

    public SpectralStatistics Analyse(SpectralShardRequest request, CancellationToken cancellationToken)
    {
        var count = Computations.AddOrUpdate(request.Shard, 1, (_, c) => c + 1);
        var statistics = _inner.Analyse(request, cancellationToken);
        Gate?.Wait(TimeSpan.FromMinutes(2));  // bounded: a test that fails before opening it does not leave silos blocked
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
