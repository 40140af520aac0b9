namespace SegCluster.Vision.Labels;

/// <summary>Soft label down-sampling options (PAPERS.md §3).</summary>
/// <param name="IgnoreIndex">Label value with zero mass in every class.</param>
/// <param name="MinValidFraction">
/// A low-res pixel whose valid fraction (share of its f×f source pixels that are not ignore) is below
/// this becomes ignore (all-zero row). 0 keeps every pixel with any valid mass (the authors' default).
/// </param>
/// <param name="Renormalize">
/// false (the authors' code, vpulab/soft-labels-SS <c>resize_oh</c>): each cell keeps the raw area fractions of its
/// classes, so a row sums to the cell's valid share and a cell half covered by ignore pixels weighs 0.5 in a loss
/// normalised by the total soft mass. true: each valid row is divided by its valid mass and sums to 1, so every cell
/// with any valid pixel weighs as much as a full one.
/// </param>
public sealed record SoftLabelOptions(int IgnoreIndex = 255, double MinValidFraction = 0, bool Renormalize = false)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (IgnoreIndex is < 0 or > 255)
            throw new ArgumentException($"SoftLabelOptions.IgnoreIndex = {IgnoreIndex} must be in [0, 255].", nameof(IgnoreIndex));
        if (!(MinValidFraction is >= 0 and <= 1))
            throw new ArgumentException($"SoftLabelOptions.MinValidFraction = {MinValidFraction} must be in [0, 1].", nameof(MinValidFraction));
    }
}
