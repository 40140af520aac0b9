namespace SegCluster.Abstractions.Specs;

/// <summary>Network selection: registry name, backbone, width, normalisation and the SPG ablation switches.</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ModelSpec")]
public sealed record ModelSpec
{
    /// <summary>One of <see cref="ModelCatalog.Models"/>.</summary>
    [Id(0)] public string Name { get; init; } = "spgnet";
    /// <summary>The width multiplier, as base channels C: encoder levels have C..8C channels (×4 for bottleneck
    /// ResNets), decoders 2C. 64 is torchvision's ResNet width (1×); the CPU default 16 is 0.25×.</summary>
    [Id(1)] public int Width { get; init; } = 16;
    /// <summary>"bn" (per-worker batch statistics, as DDP without SyncBatchNorm), "syncbn" (statistics over all workers), "gn" or
    /// "none"; null = derived from the worker count (<see cref="NormFor"/>).</summary>
    [Id(2)] public string? Norm { get; init; }
    /// <summary>Encoder, one of <see cref="ModelCatalog.Backbones"/> of the model: "tiny" (the CPU encoder),
    /// resnet18|34|50|101 for the CNN models, vit-s|vit-b for "vit" (tiny = the CPU-sized ViT).</summary>
    [Id(3)] public string Backbone { get; init; } = ModelCatalog.TinyBackbone;
    /// <summary>Encoder output stride: null = the backbone's natural one (tiny 16, ResNet 32; DeepLabV3+ takes
    /// ResNets to 16); ResNets take 32, 16 or 8.</summary>
    [Id(4)] public int? OutputStride { get; init; }
    /// <summary>SPGNet ablation switches; ignored by the other models.</summary>
    [Id(5)] public SpgSpec Spg { get; init; } = new();
    /// <summary>Optional TorchSharp state-dict file, on every node, loaded into each encoder.</summary>
    [Id(6)] public string? BackboneWeights { get; init; }
    /// <summary>Spectral truncation ratio r ∈ (0, 1] of the finest decoder level (PAPERS.md §2 "Feature truncation"):
    /// that level runs on an r-times smaller grid per side; 1 = off. Every model of <see cref="ModelCatalog.TruncatingModels"/> (not vit).</summary>
    [Id(7)] public double DecoderTruncation { get; init; } = 1.0;

    public const string BatchNorm = "bn";
    public const string SyncBatchNorm = "syncbn";
    public static readonly IReadOnlyList<string> Norms = [BatchNorm, SyncBatchNorm, "gn", "none"];

    /// <summary>The norm a run with <paramref name="workers"/> ranks uses: <see cref="Norm"/> when given, else syncbn for
    /// more than one worker (batch statistics over the global batch, as the recipe's SyncBatchNorm) and bn for one.</summary>
    public string NormFor(int workers) => Norm ?? (workers > 1 ? SyncBatchNorm : BatchNorm);
}
