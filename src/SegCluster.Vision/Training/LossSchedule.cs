using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;

namespace SegCluster.Vision.Training;

/// <summary>The step-dependent parts of the losses: the §4 drop probability and branch weights follow the
/// (fractional) epoch, the §5 regulariser its warm-up. Call before every optimizer step.</summary>
public static class LossSchedule
{
    /// <param name="step">Optimizer steps completed before this one.</param>
    public static void Apply(SegmentationModel model, ISegmentationCriterion criterion, int step, int stepsPerEpoch)
    {
        if (model is ClassSuppressionNet suppression) suppression.Epoch = step / (double)stepsPerEpoch;
        if (criterion is ScribbleRegularizedCriterion scribble) scribble.Step = step;
    }
}
