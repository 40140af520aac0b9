using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cli.Output;
using SegCluster.Cli.Sweeps;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Where the best weights are, as `status`, the end of `train` and `segcluster results` say it: a run's own best.ckpt; the
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

    [Fact]
    public void Results_name_each_trials_best_checkpoint_and_the_best_trials_one()
    {
        var spec = new SweepSpec { Name = "s", Metric = "miou", Axes = [new SweepAxis { Path = "seed", Values = ["0", "1"] }] };
        var earlier = new CheckpointRecord(4, "/ckpt/s/s-t001/a1/best.ckpt");
        TrialResult Trial(int index, double metric, CheckpointRecord? best) => new()
        {
            Index = index, Name = $"s-t{index:D3}", Parameters = [new AxisValue("seed", $"{index}")], State = TrialState.Completed, Metric = metric, BestCheckpoint = best,
        };
        var report = new SweepReport("s", SweepState.Completed, spec, [Trial(0, 0.3, new CheckpointRecord(8, "/ckpt/s/s-t000/a1/best.ckpt")), Trial(1, 0.6, earlier)], DateTime.UtcNow);

        var csv = report.ToCsv().Split('\n');
        Assert.EndsWith(",seed,best_checkpoint,reason", csv[0].TrimEnd());
        Assert.EndsWith(",1,/ckpt/s/s-t001/a1/best.ckpt,", csv[1].TrimEnd());  // best first
        Assert.Equal("best checkpoint of the best trial, s-t001: /ckpt/s/s-t001/a1/best.ckpt (step 4)", SweepTable.BestCheckpointLine(report));
        Assert.Equal(earlier, SweepReport.FromJson(report.ToJson(), "results.json").Trials[1].BestCheckpoint);

        var lost = report with { Trials = [report.Trials[0], report.Trials[1] with { BestCheckpoint = null, BestCheckpointProblem = "it is gone" }] };
        Assert.Equal("best checkpoint of the best trial, s-t001: none: it is gone", SweepTable.BestCheckpointLine(lost));
    }
}
