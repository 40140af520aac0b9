using SegCluster.Abstractions.Messages;
using SegCluster.Cli.Embedded;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The text of `train`'s progress bar for each phase a followed experiment goes through.</summary>
public sealed class TrainingProgressTests
{
    [Theory]
    [InlineData(ExperimentState.Pending, 0, 0, "queued: waiting for free workers")]  // queued by the scheduler: no steps known yet
    [InlineData(ExperimentState.Running, 0, 40, "starting workers")]
    [InlineData(ExperimentState.Running, 1, 40, "step 1/40 loss 0.500", 0.0)]  // only the untimed warm-up step so far
    [InlineData(ExperimentState.Running, 12, 40, "step 12/40 loss 0.500 8.0 img/s")]
    [InlineData(ExperimentState.Running, 40, 40, "evaluating")]
    [InlineData(ExperimentState.Completed, 40, 40, "step 40/40 loss 0.500 8.0 img/s")]
    public void Each_phase_is_named(ExperimentState state, int step, int totalSteps, string expected, double imagesPerSecond = 8)
    {
        var status = new ExperimentStatus("run", state, step, totalSteps, Loss: 0.5, ImagesPerSecond: imagesPerSecond, Workers: 2, ElapsedSeconds: 1, Evaluation: null, Error: null);
        Assert.Equal(expected, TrainingProgress.Describe(status));
    }
}
