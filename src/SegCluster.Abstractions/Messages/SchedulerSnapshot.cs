namespace SegCluster.Abstractions.Messages;

/// <summary>The scheduler's inventory: every known worker with the experiment holding it (null = free), and the queue.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SchedulerSnapshot")]
public sealed record SchedulerSnapshot(
    [property: Id(0)] IReadOnlyList<WorkerAllocation> Workers,
    [property: Id(1)] IReadOnlyList<string> Queue);

[GenerateSerializer, Immutable, Alias("SegCluster.WorkerAllocation")]
public sealed record WorkerAllocation(
    [property: Id(0)] WorkerInfo Worker,
    [property: Id(1)] string? ExperimentId);
