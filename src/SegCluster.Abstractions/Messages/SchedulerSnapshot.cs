namespace SegCluster.Abstractions.Messages;

/// <summary>The scheduler's inventory: every known worker with the experiment holding it (null = free), and the queue.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SchedulerSnapshot")]
public sealed record SchedulerSnapshot(
    [property: Id(0)] IReadOnlyList<WorkerAllocation> Workers,
    [property: Id(1)] IReadOnlyList<string> Queue)
{
    /// <summary>Queued experiment id → why it cannot start by waiting for running ones (too few workers of its kind on the
    /// live nodes, for it or a ring re-forming ahead of it); absent when it waits its turn.</summary>
    [Id(2)] public IReadOnlyDictionary<string, string> Waiting { get; init; } = new Dictionary<string, string>();
}

[GenerateSerializer, Immutable, Alias("SegCluster.WorkerAllocation")]
public sealed record WorkerAllocation(
    [property: Id(0)] WorkerInfo Worker,
    [property: Id(1)] string? ExperimentId);
