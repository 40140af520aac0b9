namespace SegCluster.Abstractions.Messages;

/// <summary>
/// One worker's part of a distributed `segcluster eval`: the samples <see cref="Indices"/> of a split of the dataset at
/// <see cref="DatasetPath"/>, predicted with the checkpoint's network. Paths are on storage every node reads.
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.EvaluationRequest")]
public sealed record EvaluationRequest(
    [property: Id(0)] string EvaluationId,
    [property: Id(1)] string CheckpointPath,
    [property: Id(2)] string DatasetPath,
    [property: Id(3)] string Split,
    [property: Id(4)] IReadOnlyList<int> Indices,
    [property: Id(5)] InferenceSettings Inference)
{
    /// <summary>Dataset format name, or "auto" to detect it.</summary>
    [Id(6)] public string DatasetFormat { get; init; } = "auto";
}
