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
}
