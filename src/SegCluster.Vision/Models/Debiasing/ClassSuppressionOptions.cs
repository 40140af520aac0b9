namespace SegCluster.Vision.Models.Debiasing;

/// <summary>
/// Class-suppression training spec (PAPERS.md §4, DropClass). Off unless a model is wrapped in a
/// <see cref="ClassSuppressionNet"/>.
/// </summary>
/// <param name="EndEpoch">E_end: the drop probability is p = min(1, epoch / E_end).</param>
/// <param name="TotalEpochs">E: the plain-branch weight is λ = max(0, 1 − epoch / E). The authors' code uses E_end = E.</param>
/// <param name="SuppressionWeight">α, weight of the mean softmax probability of the dropped class on the drop branch (10 in the authors' code).</param>
/// <param name="ClassFrequencies">Null: the dropped class is sampled uniformly. Otherwise K pixel frequencies
/// (any scale, >= 0, 0 for a class the measurement never saw) and class k is sampled inversely to its frequency,
/// smoothed (<see cref="DropShares"/>).</param>
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
        if (ClassFrequencies is { } f && (f.Count != numClasses || f.Any(x => !double.IsFinite(x) || x < 0) || f.Sum() <= 0))
            throw new ArgumentException(
                $"ClassSuppressionOptions.ClassFrequencies must hold {numClasses} finite values >= 0 (one per class) with a positive sum, got [{string.Join(", ", f)}]; set it to null for uniform sampling.",
                nameof(ClassFrequencies));
    }

    /// <summary>β, the inverse-frequency prior of <see cref="DropShares"/> (not the suppression weight α).</summary>
    public const double FrequencyPrior = 1.0;

    /// <summary>
    /// The share of the drops each class gets (K values summing to 1): 1/K each for uniform sampling; otherwise
    /// ∝ 1 / (f_k + β/K), f the frequencies normalised to sum 1 and β = <see cref="FrequencyPrior"/>.
    /// </summary>
    /// <remarks>
    /// Why the prior: β/K is additive smoothing towards uniform (β·T/K pseudo-pixels per class on T measured ones).
    /// Plain 1/f_k gave a class missing from the measured samples (floored at half a pixel) about 99.998% of the drops
    /// on 64 crops of 512×1024, so the classes actually present were no longer suppressed (PAPERS.md §4 suppresses
    /// "a randomly sampled class", not one). With the prior an unseen class weighs at most K/β, like any rare class,
    /// and no class outweighs another more than K/β + 1 times, so frequent classes are still dropped now and then.
    /// </remarks>
    public IReadOnlyList<double> DropShares(int numClasses)
    {
        if (ClassFrequencies is not { } f) return [.. Enumerable.Repeat(1.0 / numClasses, numClasses)];
        double total = f.Sum();
        var weights = f.Select(x => 1 / (x / total + FrequencyPrior / numClasses)).ToArray();
        double sum = weights.Sum();
        return [.. weights.Select(w => w / sum)];
    }
}
