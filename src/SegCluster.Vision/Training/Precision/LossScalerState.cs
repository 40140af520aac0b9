namespace SegCluster.Vision.Training.Precision;

/// <summary>
/// What a checkpoint keeps of <see cref="DynamicLossScaler"/>, so a resumed fp16 run continues at the scale it reached
/// instead of starting again at 2^16 and overflowing its way down (GradScaler's state_dict: scale, growth tracker).
/// </summary>
/// <param name="Scale">S, the factor the loss is multiplied by before backward.</param>
/// <param name="GoodSteps">Consecutive finite steps since S last changed (GradScaler's growth tracker).</param>
/// <param name="SkippedSteps">Steps skipped so far because their gradients were not finite.</param>
public sealed record LossScalerState(double Scale, int GoodSteps, long SkippedSteps);
