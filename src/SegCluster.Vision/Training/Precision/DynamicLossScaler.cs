namespace SegCluster.Vision.Training.Precision;

/// <summary>
/// fp16 dynamic loss scaling with PyTorch GradScaler's defaults: the loss is multiplied by S before backward so
/// small gradients survive fp16's 5-bit exponent, the reduced gradients are divided by S before the update; a
/// step whose gradients are not finite is skipped and S halves, and after 2,000 consecutive good steps S doubles
/// (Micikevicius et al. 2018, "Mixed Precision Training", §3.2). The trainer calls <see cref="Update"/> with a
/// verdict that is identical on every rank (it is taken on the all-reduced gradient), so every rank's S and skip
/// decision stay equal. S never falls below <see cref="MinScale"/> (1, DeepSpeed's min_loss_scale): gradients that are
/// not finite even there mean the run diverged, and it stops with an error instead of skipping every step from then on
/// (GradScaler has no floor: S shrinks towards 0, and once 1/S overflows a finite step's update is NaN).
/// </summary>
public sealed class DynamicLossScaler
{
    public DynamicLossScaler(double initialScale = 65536.0, double growthFactor = 2.0, double backoffFactor = 0.5, int growthInterval = 2000, double minScale = 1.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minScale);
        ArgumentOutOfRangeException.ThrowIfLessThan(initialScale, minScale);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(initialScale);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(growthFactor, 1.0);
        if (backoffFactor is <= 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, "backoffFactor must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(growthInterval);
        Scale = initialScale;
        GrowthFactor = growthFactor;
        BackoffFactor = backoffFactor;
        GrowthInterval = growthInterval;
        MinScale = minScale;
    }

    /// <summary>S: the factor the loss is multiplied by before backward.</summary>
    public double Scale { get; private set; }

    public double GrowthFactor { get; }

    public double BackoffFactor { get; }

    public int GrowthInterval { get; }

    /// <summary>The floor of S.</summary>
    public double MinScale { get; }

    /// <summary>Steps skipped because their gradients were not finite.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>Consecutive finite steps since the scale last changed.</summary>
    public int GoodSteps { get; private set; }

    /// <summary>The state a checkpoint saves.</summary>
    public LossScalerState State => new(Scale, GoodSteps, SkippedSteps);

    /// <summary>Continues from a checkpoint's <paramref name="state"/>; every rank restores the same one.</summary>
    /// <exception cref="ArgumentException">A scale that is not a positive finite number, or negative counts (named).</exception>
    public void Restore(LossScalerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!double.IsFinite(state.Scale) || state.Scale <= 0)
            throw new ArgumentException($"loss scaler state: scale {state.Scale} must be a positive finite number.", nameof(state));
        if (state.GoodSteps < 0 || state.SkippedSteps < 0)
            throw new ArgumentException($"loss scaler state: good steps {state.GoodSteps} and skipped steps {state.SkippedSteps} must not be negative.", nameof(state));
        Scale = state.Scale;
        GoodSteps = state.GoodSteps;
        SkippedSteps = state.SkippedSteps;
    }

    /// <summary>Records one step's verdict; returns whether the update may be applied.</summary>
    /// <param name="gradientsFinite">Whether every reduced gradient element is finite (the same on every rank).</param>
    /// <exception cref="TrainingDivergedException">The gradients are not finite at <see cref="MinScale"/>.</exception>
    public bool Update(bool gradientsFinite)
    {
        if (!gradientsFinite)
        {
            if (Scale <= MinScale)
                throw new TrainingDivergedException(
                    $"fp16-mixed: the gradients are not finite even at the minimum loss scale {MinScale} ({SkippedSteps + 1} steps skipped in all): " +
                    "the loss or the weights diverged. Lower the learning rate, check the inputs, or train in bf16-mixed or fp32.");
            Scale = Math.Max(Scale * BackoffFactor, MinScale);
            GoodSteps = 0;
            SkippedSteps++;
            return false;
        }
        if (++GoodSteps >= GrowthInterval)
        {
            Scale *= GrowthFactor;
            GoodSteps = 0;
        }
        return true;
    }
}
