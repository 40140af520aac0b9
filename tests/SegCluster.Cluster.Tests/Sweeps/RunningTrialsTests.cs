using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>The driver's trials in flight: ended runs are taken with their outcome, a runner that threw ends its trial
/// failed, and the runs still going stay.</summary>
public sealed class RunningTrialsTests
{
    private static TrialLaunch Launch(int index, params string[] workers) => new("s", index, $"s/t{index}/a1", new ExperimentSpec(), workers);

    [Fact]
    public async Task Ended_runs_are_taken_with_their_outcome_and_workers_and_running_ones_stay()
    {
        var running = new RunningTrials();
        var going = new TaskCompletionSource<TrialOutcome>();
        running.Add(Task.FromResult(new TrialOutcome(TrialState.Completed, 9, 0.1)), Launch(0, "w0"));
        running.Add(going.Task, Launch(1, "w1"));
        running.Add(Task.FromException<TrialOutcome>(new IOException("disk gone")), Launch(2, "w2", "w3"));

        var ended = await running.TakeEndedAsync();

        Assert.Equal([0, 2], ended.Select(e => e.Index).Order());
        var completed = Assert.Single(ended, e => e.Index == 0);
        Assert.Equal((TrialState.Completed, 9), (completed.Outcome.State, completed.Outcome.Steps));
        Assert.Equal(["w0"], completed.Workers);
        var threw = Assert.Single(ended, e => e.Index == 2);
        Assert.Equal((TrialState.Failed, "the trial runner threw: disk gone"), (threw.Outcome.State, threw.Outcome.Error));
        Assert.Equal(["w2", "w3"], threw.Workers);
        Assert.Equal(1, running.Count);
        Assert.Equal([1], running.Indices);
        Assert.Empty(await running.TakeEndedAsync());
    }

    [Fact]
    public async Task Waiting_for_every_run_to_end_does_not_throw_for_a_run_that_failed()
    {
        var running = new RunningTrials();
        running.Add(Task.FromException<TrialOutcome>(new InvalidOperationException("boom")), Launch(0, "w0"));

        await running.WhenAllEndAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(TrialState.Failed, Assert.Single(await running.TakeEndedAsync()).Outcome.State);
    }
}
