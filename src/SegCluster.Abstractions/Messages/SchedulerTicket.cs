namespace SegCluster.Abstractions.Messages;

/// <summary>What <c>ISchedulerGrain.SubmitAsync</c> did: started the experiment on <see cref="Workers"/>,
/// or queued it at <see cref="QueuePosition"/> (1 = next).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SchedulerTicket")]
public sealed record SchedulerTicket(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] IReadOnlyList<string> Workers,
    [property: Id(2)] int QueuePosition)
{
    public bool Started => Workers.Count > 0;

    /// <summary>Why a queued experiment cannot start however long it waits for running ones (more workers than the live
    /// nodes have of its kind); null when it waits its turn.</summary>
    [Id(3)] public string? Waiting { get; init; }
}
