using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>Which trials a coordinator taking a sweep over asks about, and which of them it follows instead of launching
/// them again.</summary>
public sealed class SweepTakeoverTests
{
    private static readonly SweepSpec MeanIoUSweep = new() { Metric = SweepSpec.MeanIoU, WorkersPerTrial = 2 };
    private static readonly IReadOnlyList<string> SweepWorkers = ["w0", "w1", "w2", "w3"];

    private static TrialResult Running(int index, params string[] workers) =>
        new() { Index = index, Name = $"s-t{index:D3}", State = TrialState.Running, Attempt = 1, ExperimentId = $"s/s-t{index:D3}/a1", Workers = workers };

    [Fact]
    public void Only_running_trials_with_an_experiment_on_a_whole_gang_of_the_sweeps_workers_are_asked()
    {
        TrialResult[] trials =
        [
            Running(0, "w0", "w1"),
            Running(1, "w2", "w9"),                            // a worker the sweep does not have
            Running(2, "w2"),                                  // fewer than workers_per_trial
            Running(3, "w2", "w3") with { ExperimentId = null },
            Running(4, "w2", "w3") with { State = TrialState.Completed },
            Running(5, "w2", "w3"),
        ];

        Assert.Equal([0, 5], SweepTakeover.ToAsk(MeanIoUSweep, trials, SweepWorkers).Select(t => t.Index));
    }

    [Theory]
    [InlineData(ExperimentState.Completed, true)]
    [InlineData(ExperimentState.Running, true)]
    [InlineData(ExperimentState.Pending, true)]
    [InlineData(ExperimentState.Failed, false)]
    [InlineData(ExperimentState.Cancelled, false)]
    [InlineData(null, false)]
    public void A_trial_is_followed_only_while_its_experiment_completed_or_still_goes(ExperimentState? state, bool followed)
    {
        var trial = Running(0, "w0", "w1");
        Assert.Equal(followed, SweepTakeover.Followed(MeanIoUSweep, [(trial, state)]).Count == 1);
    }

    [Fact]
    public void Two_trials_recorded_on_one_worker_are_not_both_followed()
    {
        var followed = SweepTakeover.Followed(MeanIoUSweep,
            [(Running(0, "w0", "w1"), ExperimentState.Running), (Running(1, "w1", "w2"), ExperimentState.Running), (Running(2, "w2", "w3"), ExperimentState.Running)]);

        Assert.Equal([(0, ExperimentState.Running), (2, ExperimentState.Running)], followed.Select(f => (f.Trial.Index, f.State)));
    }

    /// <summary>A completed experiment's losses are gone with its activation: ranked by loss, its trial would end without a
    /// metric, so it runs again; a running one's later losses still come.</summary>
    [Fact]
    public void Ranked_by_loss_a_completed_experiment_is_not_followed_but_a_running_one_is()
    {
        var lossSweep = MeanIoUSweep with { Metric = SweepSpec.Loss, Mode = SweepSpec.Min };
        var followed = SweepTakeover.Followed(lossSweep, [(Running(0, "w0", "w1"), ExperimentState.Completed), (Running(1, "w2", "w3"), ExperimentState.Running)]);

        Assert.Equal([1], followed.Select(f => f.Trial.Index));
    }
}
