namespace SegCluster.Abstractions.Specs;

/// <summary>Partial CE + dynamic feature regularised loss (PAPERS.md §5); used when loss.kind is "scribble-regularized".</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.ScribbleLossSpec")]
public sealed record ScribbleLossSpec
{
    /// <summary>λ on R(S) / N² per image (2e-9 on rloss's un-normalised half-scale sum of 512² crops ≈ 8.6).</summary>
    [Id(0)] public double Lambda { get; init; } = 8.6;
    /// <summary>σ_I in 0–255 colour levels (rloss: 15).</summary>
    [Id(1)] public double SigmaRgb { get; init; } = 15;
    /// <summary>σ_p in input pixels (rloss: 100 on ~500-pixel VOC images).</summary>
    [Id(2)] public double SigmaXy { get; init; } = 100;
    /// <summary>σ_f of the deep kernel on L2-normalised embeddings.</summary>
    [Id(3)] public double SigmaFeature { get; init; } = 0.5;
    /// <summary>Grid scale of the regulariser (rloss: 0.5).</summary>
    [Id(4)] public double Scale { get; init; } = 0.5;
    /// <summary>Cap on each side of the dense regulariser grid (memory N² per image).</summary>
    [Id(5)] public int MaxGridSide { get; init; } = 32;
    /// <summary>Colour levels per unit of the input images (≈ 59 for the standardised synthetic set).</summary>
    [Id(6)] public double RgbPerUnit { get; init; } = 59;
    /// <summary>True: shallow × deep kernel with the feature consistency head (the paper); false: static rloss kernel.</summary>
    [Id(7)] public bool Dynamic { get; init; } = true;
    /// <summary>Weight of the feature consistency loss.</summary>
    [Id(8)] public double ConsistencyWeight { get; init; } = 1;
    /// <summary>Embedding size E of the feature consistency head.</summary>
    [Id(9)] public int EmbeddingChannels { get; init; } = 16;
    /// <summary>Steps of partial CE before λ·R switches on (0 = from the start).</summary>
    [Id(10)] public int WarmupSteps { get; init; }
    /// <summary>True: the training labels are scribbles drawn from each full mask before augmentation (the synthetic set has no
    /// scribbles of its own); false: the labels are used as they are (a split of scribbles, such as VOC's train_scribble).</summary>
    [Id(11)] public bool SynthesizeScribbles { get; init; } = true;
}
