namespace SegCluster.Vision.Training;

/// <summary>
/// Learning rate per step, as mmsegmentation schedules it: "poly" decays base·(1 − t/T)^power to
/// <see cref="MinLearningRate"/> at the last step (the SPGNet and DeepLab recipe, power 0.9); "constant"
/// keeps the base. An optional linear warm-up over the first <see cref="WarmupSteps"/> multiplies the
/// scheduled rate by 1 − (1 − t/W)(1 − <see cref="WarmupRatio"/>) (mmcv's linear warm-up).
/// </summary>
public sealed record LearningRateSchedule(string Policy = LearningRateSchedule.Poly, double Power = 0.9, double MinLearningRate = 0,
    int WarmupSteps = 0, double WarmupRatio = 1e-6)
{
    public const string Poly = "poly";
    public const string Constant = "constant";
    public static readonly IReadOnlyList<string> Policies = [Poly, Constant];

    /// <summary>The rate of step <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public double At(double baseLearningRate, long step, long totalSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        var progress = Math.Min(1.0, (double)step / totalSteps);
        var rate = Policy == Poly
            ? (baseLearningRate - MinLearningRate) * Math.Pow(1 - progress, Power) + MinLearningRate
            : baseLearningRate;
        if (step < WarmupSteps)
            rate *= 1 - (1 - (double)step / WarmupSteps) * (1 - WarmupRatio);
        return rate;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the field.</summary>
    public void Validate()
    {
        if (!Policies.Contains(Policy)) throw new ArgumentException($"lr_policy: '{Policy}' is unknown; use one of {string.Join(", ", Policies)}.", nameof(Policy));
        if (!(Power > 0) || !double.IsFinite(Power)) throw new ArgumentException($"poly_power: {Power} must be a positive number.", nameof(Power));
        if (!(MinLearningRate >= 0)) throw new ArgumentException($"min_learning_rate: {MinLearningRate} must be ≥ 0.", nameof(MinLearningRate));
        if (WarmupSteps < 0) throw new ArgumentException($"warmup_steps: {WarmupSteps} must be ≥ 0.", nameof(WarmupSteps));
        if (WarmupRatio is not (> 0 and <= 1)) throw new ArgumentException($"warmup_ratio: {WarmupRatio} must be in (0, 1].", nameof(WarmupRatio));
    }
}
