namespace SegCluster.Abstractions.Specs;

/// <summary>Network selection: registry name, base width and normalisation.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ModelSpec")]
public sealed record ModelSpec
{
    [Id(0)] public string Name { get; init; } = "spgnet";
    [Id(1)] public int Width { get; init; } = 16;
    /// <summary>"bn" (per-worker batch statistics, as DDP without SyncBatchNorm), "syncbn" (statistics over all workers), "gn" or "none".</summary>
    [Id(2)] public string Norm { get; init; } = "bn";
}
