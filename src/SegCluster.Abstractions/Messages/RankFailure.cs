namespace SegCluster.Abstractions.Messages;

/// <summary>How a rank's loop failed, as it reports it to its coordinator (IExperimentGrain.ReportFailedAsync): the error,
/// and whether a re-formed ring may get past it (a lost peer) or would fail the same way (a NaN loss, an unusable dataset).
/// Its worker keeps it too, so the coordinator's watchdog still learns it when the report itself was lost.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.RankFailure")]
public sealed record RankFailure(
    [property: Id(0)] string Error,
    [property: Id(1)] bool Retryable);
