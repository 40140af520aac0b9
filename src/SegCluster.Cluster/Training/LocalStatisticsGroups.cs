using SegCluster.Abstractions.Messages;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Training;

/// <summary>
/// In-memory groups for the SyncBatchNorm statistics of rings whose ranks all live in this process (the embedded
/// quickstart, a one-node experiment): SyncBN sums a few floats per norm layer, twice forward and twice backward, and
/// in memory that is a barrier instead of a gRPC round trip through the ring. A ring that spans processes keeps its
/// statistics on the ring (the collective layer); gradients always go through the ring. Node singleton keyed by ring
/// id (one formation of the ring); the last rank to leave removes the group.
/// </summary>
public sealed class LocalStatisticsGroups
{
    private readonly Dictionary<string, (InMemoryReducerGroup Group, int Members)> _groups = [];
    private readonly Lock _lock = new();

    /// <summary>True when every rank of the assignment's ring is served by this worker's collective endpoint (this process).</summary>
    public static bool AllInProcess(TrainingAssignment assignment, WorkerInfo worker) =>
        assignment.RingEndpoints.All(endpoint => endpoint == worker.CollectiveEndpoint);

    /// <summary>This rank's reducer in the ring's in-memory group; null when the ring spans processes (or has one rank).
    /// Dispose the lease when the rank's run ends.</summary>
    /// <param name="timeout">How long a rank waits for the others (the collective timeout, as on the ring).</param>
    public Lease? JoinIfInProcess(TrainingAssignment assignment, WorkerInfo worker, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (assignment.WorldSize < 2 || !AllInProcess(assignment, worker)) return null;
        lock (_lock)
        {
            var (group, members) = _groups.TryGetValue(assignment.RingId, out var entry) ? entry : (new InMemoryReducerGroup(assignment.WorldSize, timeout), 0);
            _groups[assignment.RingId] = (group, members + 1);
            return new Lease(this, assignment.RingId, group.For(assignment.Rank, cancellationToken));
        }
    }

    /// <summary>Groups still held (tests: every lease returned leaves none).</summary>
    public int Count
    {
        get { lock (_lock) return _groups.Count; }
    }

    private void Leave(string ringId)
    {
        lock (_lock)
        {
            if (!_groups.TryGetValue(ringId, out var entry)) return;
            if (entry.Members <= 1) _groups.Remove(ringId);
            else _groups[ringId] = (entry.Group, entry.Members - 1);
        }
    }

    /// <summary>One rank's membership of a ring's group.</summary>
    public sealed class Lease(LocalStatisticsGroups owner, string ringId, IGradientReducer reducer) : IDisposable
    {
        private int _disposed;

        public IGradientReducer Reducer { get; } = reducer;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) owner.Leave(ringId);
        }
    }
}
