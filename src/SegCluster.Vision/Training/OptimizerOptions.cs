using SegCluster.Vision.Training.Optimizers;

namespace SegCluster.Vision.Training;

/// <summary>
/// The optimiser and its schedule. Defaults: SGD with momentum 0.9 and L2 weight decay (PyTorch SGD
/// semantics, SPGNet's optimiser) at a constant rate; "adamw" for ViT backbones.
/// </summary>
/// <param name="Schedule">Learning rate per step; null keeps <paramref name="LearningRate"/> constant.</param>
/// <param name="TotalSteps">The schedule's horizon T.</param>
/// <param name="MaxGradientNorm">Clip the global (all-reduced) gradient to this L2 norm, as clip_grad_norm_; null: no clipping.</param>
/// <param name="NoDecayOnNormAndBias">No weight decay on 1-D parameters (biases, normalisation scales), as mmsegmentation's norm/bias_decay_mult = 0.</param>
/// <param name="AccumulationSteps">Micro-batches per optimiser step (gradient accumulation); the batch is split into this many equal parts.</param>
public sealed record OptimizerOptions(double LearningRate = 0.01, double Momentum = 0.9, double WeightDecay = 1e-4,
    string Kind = OptimizerOptions.Sgd, LearningRateSchedule? Schedule = null, long TotalSteps = 1, double? MaxGradientNorm = null,
    bool NoDecayOnNormAndBias = false, int AccumulationSteps = 1)
{
    public const string Sgd = "sgd";
    public const string AdamW = "adamw";
    public static readonly IReadOnlyList<string> Kinds = [Sgd, AdamW];

    /// <summary>The rate of step <paramref name="step"/> (0-based).</summary>
    public double LearningRateAt(long step) => Schedule?.At(LearningRate, step, TotalSteps) ?? LearningRate;

    /// <summary>A fresh optimiser over the parameters <paramref name="slices"/> lay out.</summary>
    public IFlatOptimizer Create(IReadOnlyList<ParameterSlice> slices) => Kind == AdamW
        ? new Optimizers.AdamW(slices)
        : new SgdMomentum(slices, Momentum);

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (!double.IsFinite(LearningRate) || LearningRate <= 0)
            throw new ArgumentException($"OptimizerOptions.LearningRate = {LearningRate} must be a finite value > 0.", nameof(LearningRate));
        if (!double.IsFinite(Momentum) || Momentum is < 0 or >= 1)
            throw new ArgumentException($"OptimizerOptions.Momentum = {Momentum} must be in [0, 1).", nameof(Momentum));
        if (!double.IsFinite(WeightDecay) || WeightDecay < 0)
            throw new ArgumentException($"OptimizerOptions.WeightDecay = {WeightDecay} must be a finite value >= 0.", nameof(WeightDecay));
        if (!Kinds.Contains(Kind))
            throw new ArgumentException($"OptimizerOptions.Kind = '{Kind}' is unknown; use one of {string.Join(", ", Kinds)}.", nameof(Kind));
        if (TotalSteps < 1)
            throw new ArgumentException($"OptimizerOptions.TotalSteps = {TotalSteps} must be at least 1.", nameof(TotalSteps));
        if (MaxGradientNorm is { } max && !(max > 0 && double.IsFinite(max)))
            throw new ArgumentException($"OptimizerOptions.MaxGradientNorm = {max} must be a positive number.", nameof(MaxGradientNorm));
        if (AccumulationSteps < 1)
            throw new ArgumentException($"OptimizerOptions.AccumulationSteps = {AccumulationSteps} must be at least 1.", nameof(AccumulationSteps));
        Schedule?.Validate();
    }
}
