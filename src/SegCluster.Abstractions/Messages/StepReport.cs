namespace SegCluster.Abstractions.Messages;

/// <summary>One rank's account of one optimizer step (seconds; loss is the global mean).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.StepReport")]
public sealed record StepReport(
    [property: Id(0)] int Rank,
    [property: Id(1)] int Step,
    [property: Id(2)] double Loss,
    [property: Id(3)] int Images,
    [property: Id(4)] double DataWaitSeconds,
    [property: Id(5)] double ForwardBackwardSeconds,
    [property: Id(6)] double AllReduceSeconds,
    [property: Id(7)] double OptimizerSeconds,
    [property: Id(8)] long AllReduceBytes)
{
    /// <summary>The ring formation (<c>TrainingAssignment.Attempt</c>) that took the step.</summary>
    [Id(9)] public int Attempt { get; init; } = 1;

    /// <summary>Time the reducer spent on this step's sums, overlapped with backward or not (<see cref="AllReduceSeconds"/>
    /// is only the part the step waited for); 0 when not reported.</summary>
    [Id(10)] public double AllReduceBusySeconds { get; init; }

    public double StepSeconds => DataWaitSeconds + ForwardBackwardSeconds + AllReduceSeconds + OptimizerSeconds;
}
