namespace SegCluster.Abstractions.Messages;

/// <summary>What a worker runs now, as its coordinator's watchdog asks it: the rank and attempt of the last assignment it
/// was given (none: <see cref="ExperimentId"/> null, e.g. a fresh activation), whether that rank's loop still runs and
/// was not told to stop, and how it failed if it did.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.WorkerRun")]
public sealed record WorkerRun(
    [property: Id(0)] string? ExperimentId,
    [property: Id(1)] int Attempt,
    [property: Id(2)] int Rank,
    [property: Id(3)] bool Running)
{
    public static WorkerRun None { get; } = new(null, 0, -1, false);

    /// <summary>The failure the rank's loop ended with (and reported, or tried to); null while it runs, and when it completed
    /// or was cancelled.</summary>
    [Id(4)] public RankFailure? Failure { get; init; }

    public override string ToString() => ExperimentId is null
        ? "no rank"
        : $"rank {Rank} of {ExperimentId} attempt {Attempt}, {(Running ? "running" : Failure is { } f ? $"failed: {f.Error}" : "not running")}";
}
