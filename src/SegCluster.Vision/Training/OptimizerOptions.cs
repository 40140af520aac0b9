namespace SegCluster.Vision.Training;

/// <summary>SGD with momentum and L2 weight decay (PyTorch SGD semantics), the optimiser SPGNet trains with.</summary>
public sealed record OptimizerOptions(double LearningRate = 0.01, double Momentum = 0.9, double WeightDecay = 1e-4)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (!double.IsFinite(LearningRate) || LearningRate <= 0)
            throw new ArgumentException($"OptimizerOptions.LearningRate = {LearningRate} must be a finite value > 0.", nameof(LearningRate));
        if (!double.IsFinite(Momentum) || Momentum is < 0 or >= 1)
            throw new ArgumentException($"OptimizerOptions.Momentum = {Momentum} must be in [0, 1).", nameof(Momentum));
        if (!double.IsFinite(WeightDecay) || WeightDecay < 0)
            throw new ArgumentException($"OptimizerOptions.WeightDecay = {WeightDecay} must be a finite value >= 0.", nameof(WeightDecay));
    }
}
