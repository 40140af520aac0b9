using SegCluster.Abstractions.Messages;
using SegCluster.Cli.Output;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Where the best weights are, as `status` and the end of `train` say it: a run's own best.ckpt; the
/// earlier run's best.ckpt for a run resumed from its checkpoint that has not beaten its best, said to be that; and, when
/// that file no longer holds them, why there is none rather than its path.
/// </summary>
public sealed class BestCheckpointOutputTests
{
    private static readonly ExperimentStatus Status = new("run2", ExperimentState.Completed, 8, 8, 0.5, 1, 2, 10, null, null);
    private static readonly EarlierBest Earlier = new("miou", 0.4, 4, "/ckpt/run1/best.ckpt");

    [Fact]
    public void Status_names_the_own_best_checkpoint_the_earlier_runs_one_or_why_there_is_none()
    {
        Assert.Null(ExperimentStatusView.BestCheckpoint(Status));
        Assert.Equal("step 6: /ckpt/run2/best.ckpt", ExperimentStatusView.BestCheckpoint(Status with { BestCheckpoint = new CheckpointRecord(6, "/ckpt/run2/best.ckpt") }));
        Assert.Equal("step 4: /ckpt/run1/best.ckpt (written by the run this one resumed from; no validation of this run has beaten it)",
            ExperimentStatusView.BestCheckpoint(Status with { BestCheckpoint = Earlier.Checkpoint, EarlierBest = Earlier }));
        Assert.Equal("none: '/ckpt/run1/best.ckpt' is gone",
            ExperimentStatusView.BestCheckpoint(Status with { EarlierBest = Earlier with { Problem = "'/ckpt/run1/best.ckpt' is gone" } }));
    }
}
