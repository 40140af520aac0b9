namespace SegCluster.Abstractions.Sweeps;

/// <summary>
/// Skips label grids the spectral grid advisor predicts will lose too much (PAPERS.md §2 "Efficient grid"): a trial
/// with labels.factor f is skipped when the oracle mIoU of the base dataset's labels down-sampled by f (soft oracle for
/// soft-ce, soft-kl and block, nearest oracle for nearest) is more than <see cref="MaxPredictedDrop"/> below full
/// resolution. Block's majority-or-ignore labels are judged by the soft oracle, an optimistic stand-in.
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SpectralSkipSpec")]
public sealed record SpectralSkipSpec
{
    /// <summary>Largest predicted mIoU loss to accept, as a fraction (0.05 = 5 points).</summary>
    [Id(0)] public double MaxPredictedDrop { get; init; } = 0.05;
    /// <summary>Label images of the base dataset the advisor analyses.</summary>
    [Id(1)] public int Images { get; init; } = 32;
}
