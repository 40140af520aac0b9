namespace SegCluster.Vision.Models.Debiasing;

/// <summary>
/// Class-suppression training spec (PAPERS.md §4, DropClass). Off unless a model is wrapped in a
/// <see cref="ClassSuppressionNet"/>.
/// </summary>
/// <param name="EndEpoch">E_end: the drop probability is p = min(1, epoch / E_end).</param>
/// <param name="TotalEpochs">E: the plain-branch weight is λ = max(0, 1 − epoch / E). The authors' code uses E_end = E.</param>
/// <param name="SuppressionWeight">α, weight of the mean softmax probability of the dropped class on the drop branch (10 in the authors' code).</param>
/// <param name="ClassFrequencies">Null: the dropped class is sampled uniformly. Otherwise K pixel frequencies
/// (any positive scale) and class k is sampled with probability ∝ 1 / frequency_k.</param>
/// <param name="Seed">Seed of the class sampler. Ranks given the same seed (the product gives them the run's seed) drop
/// the same class at each step, as one process training on the whole batch would.</param>
public sealed record ClassSuppressionOptions(
    double EndEpoch = 1.0,
    double TotalEpochs = 1.0,
    double SuppressionWeight = 10.0,
    IReadOnlyList<double>? ClassFrequencies = null,
    int Seed = 0)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate(int numClasses)
    {
        if (!double.IsFinite(EndEpoch) || EndEpoch <= 0)
            throw new ArgumentException($"ClassSuppressionOptions.EndEpoch = {EndEpoch} must be a finite value > 0.", nameof(EndEpoch));
        if (!double.IsFinite(TotalEpochs) || TotalEpochs <= 0)
            throw new ArgumentException($"ClassSuppressionOptions.TotalEpochs = {TotalEpochs} must be a finite value > 0.", nameof(TotalEpochs));
        if (!double.IsFinite(SuppressionWeight) || SuppressionWeight < 0)
            throw new ArgumentException($"ClassSuppressionOptions.SuppressionWeight = {SuppressionWeight} must be a finite value >= 0.", nameof(SuppressionWeight));
        if (ClassFrequencies is { } f && (f.Count != numClasses || f.Any(x => !double.IsFinite(x) || x <= 0)))
            throw new ArgumentException(
                $"ClassSuppressionOptions.ClassFrequencies must hold {numClasses} finite values > 0 (one per class), got {f.Count}; set it to null for uniform sampling.",
                nameof(ClassFrequencies));
    }
}
