namespace SegCluster.Abstractions.Messages;

/// <summary>What a worker runs now, as its coordinator's watchdog asks it: the rank and attempt of the last assignment it
/// was given (none: <see cref="ExperimentId"/> null, e.g. a fresh activation) and whether that rank's loop still runs and
/// was not told to stop.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.WorkerRun")]
public sealed record WorkerRun(
    [property: Id(0)] string? ExperimentId,
    [property: Id(1)] int Attempt,
    [property: Id(2)] int Rank,
    [property: Id(3)] bool Running)
{
    public static WorkerRun None { get; } = new(null, 0, -1, false);

    public override string ToString() => ExperimentId is null
        ? "no rank"
        : $"rank {Rank} of {ExperimentId} attempt {Attempt}, {(Running ? "running" : "not running")}";
}
