namespace SegCluster.Abstractions.Messages;

/// <summary>A snapshot of one experiment, as `segcluster status` and progress bars show it.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ExperimentStatus")]
public sealed record ExperimentStatus(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] ExperimentState State,
    [property: Id(2)] int Step,
    [property: Id(3)] int TotalSteps,
    [property: Id(4)] double Loss,
    [property: Id(5)] double ImagesPerSecond,
    [property: Id(6)] int Workers,
    [property: Id(7)] double ElapsedSeconds,
    [property: Id(8)] EvaluationReport? Evaluation,
    [property: Id(9)] string? Error);
