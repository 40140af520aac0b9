namespace SegCluster.Abstractions.Specs;

/// <summary>Network selection: registry name, base width and normalisation.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ModelSpec")]
public sealed record ModelSpec
{
    [Id(0)] public string Name { get; init; } = "spgnet";
    [Id(1)] public int Width { get; init; } = 16;
    /// <summary>"bn" (per-worker batch statistics, as DDP without SyncBatchNorm), "gn" or "none".</summary>
    [Id(2)] public string Norm { get; init; } = "bn";
    /// <summary>Spectral truncation ratio r ∈ (0, 1] of the finest decoder level (PAPERS.md §2 "Feature truncation"):
    /// that level runs on an r-times smaller grid per side; 1 = off. spgnet, encoder-decoder, deeplabv3plus.</summary>
    [Id(3)] public double DecoderTruncation { get; init; } = 1.0;
}
