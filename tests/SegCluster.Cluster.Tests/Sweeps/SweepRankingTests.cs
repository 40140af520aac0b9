using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>What a sweep ranks: completed, then stopped trials by metric; a failed or cancelled trial's last loss is no
/// result. And the loss ASHA compares recovers from one infinite step.</summary>
public sealed class SweepRankingTests
{
    private static readonly SweepSpec LossSweep = new() { Metric = SweepSpec.Loss, Mode = SweepSpec.Min };

    [Fact]
    public void Failed_and_cancelled_trials_rank_last_and_are_never_the_best()
    {
        TrialResult Trial(int index, TrialState state, double? metric) => new() { Index = index, State = state, Metric = metric };
        var failedOnly = new SweepStatus("s", SweepState.Completed, LossSweep,
            [Trial(0, TrialState.Failed, 0.1), Trial(1, TrialState.Cancelled, 0.2)]);
        Assert.Null(failedOnly.Best);

        var mixed = new SweepStatus("s", SweepState.Completed, LossSweep,
            [Trial(0, TrialState.Failed, 0.1), Trial(1, TrialState.Stopped, 0.5), Trial(2, TrialState.Completed, 0.9), Trial(3, TrialState.Stopped, 0.3)]);
        Assert.Equal(2, mixed.Best!.Index);
        Assert.Equal([2, 3, 1, 0], SweepStatus.Ranked(LossSweep, mixed.Trials).Select(t => t.Index));
    }

    [Fact]
    public void The_moving_mean_recovers_once_an_infinite_loss_leaves_the_window()
    {
        var mean = new MovingMean(5);
        mean.Add(1);
        mean.Add(double.PositiveInfinity);
        Assert.Equal(double.PositiveInfinity, mean.Value);
        for (var i = 0; i < 5; i++) mean.Add(1);
        Assert.Equal(1, mean.Value);
    }
}
