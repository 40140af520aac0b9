namespace SegCluster.Vision.Models;

/// <summary>
/// Normalisation after each convolution. BatchNorm follows the paper; GroupNorm and None have no
/// batch statistics, so W ranks × batch b compute exactly what 1 rank × batch W·b computes
/// (the data-parallel gradient-equivalence tests use GroupNorm).
/// </summary>
public enum NormKind
{
    BatchNorm,
    /// <summary>BatchNorm with statistics over every rank of the group (<see cref="Normalization.SyncBatchNorm2d"/>).</summary>
    SyncBatchNorm,
    GroupNorm,
    None,
}
