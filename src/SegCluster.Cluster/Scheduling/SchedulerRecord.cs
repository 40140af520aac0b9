using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Cluster.Scheduling;

/// <summary>The scheduler's persisted inventory: known workers, who holds each, the FIFO queue, and the leases.</summary>
[GenerateSerializer, Alias("SegCluster.SchedulerRecord")]
public sealed class SchedulerRecord
{
    [Id(0)] public Dictionary<string, WorkerInfo> Workers { get; set; } = [];
    /// <summary>Worker id → experiment id holding it. A worker appears at most once: never double-booked.</summary>
    [Id(1)] public Dictionary<string, string> Allocations { get; set; } = [];
    [Id(2)] public List<QueuedExperiment> Queue { get; set; } = [];
    /// <summary>Holder of leased workers (<see cref="Abstractions.Grains.ISchedulerGrain.LeaseAsync"/>) → when the lease
    /// lapses (UTC) unless renewed.</summary>
    [Id(3)] public Dictionary<string, DateTime> Leases { get; set; } = [];
}

/// <summary>A waiting experiment. <see cref="Spec"/> is null for one that already ran and waits to re-form.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.QueuedExperiment")]
public sealed record QueuedExperiment(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] ExperimentSpec? Spec,
    [property: Id(2)] int Workers,
    [property: Id(3)] string Device);
