namespace SegCluster.Abstractions.Messages;

/// <summary>
/// Where one worker's evaluation stands: images done of its total, and when finished either its K×K confusion
/// counts (row = true class, column = prediction; integers, so summing the workers' parts is exact) or the error.
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.EvaluationProgress")]
public sealed record EvaluationProgress(
    [property: Id(0)] string EvaluationId,
    [property: Id(1)] int Done,
    [property: Id(2)] int Total,
    [property: Id(3)] IReadOnlyList<long>? Confusion,
    [property: Id(4)] string? Error)
{
    public bool Finished => Confusion is not null || Error is not null;
}
