using SegCluster.Vision.Labels;

namespace SegCluster.Vision.Losses;

/// <summary>Loss spec (PAPERS.md §1 "Loss": final CE weight 1.0, intermediate SPG CE weight 0.4).</summary>
/// <param name="AuxiliaryWeight">Weight of each auxiliary (SPG prediction) CE term.</param>
/// <param name="IgnoreIndex">Label value that contributes no loss and no count.</param>
/// <param name="Labels">Label grid of the final term (PAPERS.md §2, §3); null = full resolution.</param>
/// <param name="FinalWeight">Weight of the final term (§1: a spec option, default 1.0).</param>
public sealed record LossOptions(double AuxiliaryWeight = 0.4, int IgnoreIndex = 255, LabelOptions? Labels = null, double FinalWeight = 1.0)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (!double.IsFinite(AuxiliaryWeight) || AuxiliaryWeight < 0)
            throw new ArgumentException($"LossOptions.AuxiliaryWeight = {AuxiliaryWeight} must be a finite value >= 0.", nameof(AuxiliaryWeight));
        if (!double.IsFinite(FinalWeight) || FinalWeight <= 0)
            throw new ArgumentException($"LossOptions.FinalWeight = {FinalWeight} must be a finite value > 0 (the final prediction is the one evaluated).", nameof(FinalWeight));
        if (IgnoreIndex is < 0 or > 255)
            throw new ArgumentException($"LossOptions.IgnoreIndex = {IgnoreIndex} must be in [0, 255] (labels are bytes).", nameof(IgnoreIndex));
        Labels?.Validate();
    }

    /// <summary>
    /// Throws unless the final term is at full resolution (Labels null, Full or Scribble), for criteria whose further
    /// terms read the full-resolution labels and logits: on a coarse grid they fail on shapes, or silently mix grids.
    /// </summary>
    /// <param name="criterion">The criterion, for the message.</param>
    public void RequireFullResolutionLabels(string criterion)
    {
        if (Labels is { Mode: not (LabelMode.Full or LabelMode.Scribble) } labels)
            throw new ArgumentException(
                $"LossOptions.Labels = {labels.Mode} at factor {labels.Factor}: {criterion} computes its further terms at full resolution; use Full or Scribble labels.",
                nameof(Labels));
    }
}
