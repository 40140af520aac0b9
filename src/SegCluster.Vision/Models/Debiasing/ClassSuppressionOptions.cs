namespace SegCluster.Vision.Models.Debiasing;

/// <summary>
/// Class-suppression training spec (PAPERS.md §4, DropClass). Off unless a model is wrapped in a
/// <see cref="ClassSuppressionNet"/>.
/// </summary>
/// <param name="EndEpoch">E_end: the drop probability is p = min(1, epoch / E_end).</param>
/// <param name="TotalEpochs">E: the plain-branch weight is λ = max(0, 1 − epoch / E). The authors' code uses E_end = E.</param>
/// <param name="SuppressionWeight">α, weight of the mean softmax probability of the dropped class on the drop branch (10 in the authors' code).</param>
/// <param name="ClassFrequencies">Null: the dropped class is sampled uniformly. Otherwise K pixel frequencies
/// (any scale, >= 0, 0 for a class the measurement never saw) and class k is sampled inversely to its frequency
/// (<see cref="DropShares"/>).</param>
/// <param name="Seed">Seed of the class sampler. Ranks given the same seed (the product gives them the run's seed) drop
/// the same class at each step, as one process training on the whole batch would.</param>
/// <param name="FrequencyPrior">β >= 0: optional additive smoothing of the inverse frequencies towards uniform, 1 / (f_k + β/K);
/// 0 (default) is the paper's plain 1 / f_k.</param>
public sealed record ClassSuppressionOptions(
    double EndEpoch = 1.0,
    double TotalEpochs = 1.0,
    double SuppressionWeight = 10.0,
    IReadOnlyList<double>? ClassFrequencies = null,
    int Seed = 0,
    double FrequencyPrior = 0)
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
        if (ClassFrequencies is { } f && (f.Count != numClasses || f.Any(x => !double.IsFinite(x) || x < 0) || f.Sum() <= 0))
            throw new ArgumentException(
                $"ClassSuppressionOptions.ClassFrequencies must hold {numClasses} finite values >= 0 (one per class) with a positive sum, got [{string.Join(", ", f)}]; set it to null for uniform sampling.",
                nameof(ClassFrequencies));
        if (!double.IsFinite(FrequencyPrior) || FrequencyPrior < 0)
            throw new ArgumentException($"ClassSuppressionOptions.FrequencyPrior = {FrequencyPrior} must be a finite value >= 0 (0 = plain 1 / frequency).", nameof(FrequencyPrior));
    }

    /// <summary>
    /// The share of the drops each class gets (K values summing to 1): 1/K each for uniform sampling; otherwise
    /// ∝ 1 / (f_k + β/K) (PAPERS.md §4: inversely to frequency; β = <see cref="FrequencyPrior"/>, 0 by default), f the
    /// frequencies normalised to sum 1, where a class the measurement never saw counts half as frequent as the rarest one
    /// it saw.
    /// </summary>
    /// <remarks>
    /// Why the unseen rule: the frequencies come from a sample of the split, so 0 means "rarer than anything measured",
    /// not "absent". Floored at half a pixel, an unseen class took about 99.998% of the drops on 64 crops of 512×1024,
    /// and no class present was suppressed any more. Half the rarest seen frequency keeps it the most dropped class,
    /// at twice the rarest seen class's weight, and leaves every measured ratio as the paper has it.
    /// </remarks>
    public IReadOnlyList<double> DropShares(int numClasses)
    {
        if (ClassFrequencies is not { } f) return [.. Enumerable.Repeat(1.0 / numClasses, numClasses)];
        double total = f.Sum(), rarest = f.Where(x => x > 0).Min() / total;
        var weights = f.Select(x => 1 / ((x > 0 ? x / total : rarest / 2) + FrequencyPrior / numClasses)).ToArray();
        double sum = weights.Sum();
        return [.. weights.Select(w => w / sum)];
    }
}
