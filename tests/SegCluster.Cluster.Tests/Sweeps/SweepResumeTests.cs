using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Grains;
using StackExchange.Redis;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>
/// The sweep coordinator's silo is killed mid-sweep; a new silo on the same Redis grain storage takes the sweep
/// over on the next call: no finished trial runs again, no finished result is lost, interrupted trials run again.
/// </summary>
public sealed class SweepResumeTests
{
    [Fact]
    public async Task A_new_silo_resumes_the_sweep_from_redis_without_rerunning_finished_trials()
    {
        await using var redis = await RedisServer.StartAsync();
        void Storage(ISiloBuilder silo) =>
            silo.AddRedisGrainStorage(ClusterStorage.Sweeps, o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis.Address));
        static double Loss(int trial, int step) => 1 + trial + 1.0 / step;
        var sweep = new SweepSpec
        {
            Name = "resume", TrialSteps = 3, MaxConcurrentTrials = 2,
            Base = new ExperimentSpec { Training = new TrainingSpec { BatchPerWorker = 2 }, Dataset = new DatasetSpec { TrainCount = 16 } },
            Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Grid, Values = ["0", "1", "2", "3", "4", "5"] }],
        };

        // First coordinator: trials 0–2 finish, 3 and 4 are running (held) when its silo is killed.
        var first = new ScriptedTrialRunner(Loss) { Hold = [3, 4] };
        IReadOnlyList<TrialResult> before;
        await using (var cluster = await SweepClusters.StartAsync(first, Storage))
        {
            var grain = cluster.Client.GetGrain<ISweepGrain>("resume-1");
            await grain.StartAsync(sweep, SweepClusters.Workers(2));
            await first.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
            before = (await grain.GetStatusAsync()).Trials;
            await cluster.KillSiloAsync(cluster.Silos[0]);  // no graceful deactivation: the node is gone
        }
        Assert.Equal([0, 1, 2], before.Where(t => t.State == TrialState.Completed).Select(t => t.Index));
        Assert.Equal([3, 4], before.Where(t => t.State == TrialState.Running).Select(t => t.Index));

        // Second coordinator on a fresh silo: the status call activates it from Redis and it resumes.
        var second = new ScriptedTrialRunner(Loss);
        await using (var cluster = await SweepClusters.StartAsync(second, Storage))
        {
            var status = await SweepClusters.UntilEndedAsync(cluster.Client.GetGrain<ISweepGrain>("resume-1"));

            Assert.Equal(SweepState.Completed, status.State);
            Assert.Equal([3, 4, 5], second.Launches.Select(l => l.Index).Order());
            Assert.Equal(["resume-1/resume-t003/a1", "resume-1/resume-t004/a1"], second.Abandoned.Order());
            Assert.All(status.Trials, t => Assert.Equal(TrialState.Completed, t.State));
            foreach (var finished in before.Where(t => t.State == TrialState.Completed))
            {
                var now = status.Trials[finished.Index];
                Assert.Equal((1, finished.Metric, finished.FinishedAt), (now.Attempt, now.Metric, now.FinishedAt));
            }
            Assert.Equal([2, 2, 1], status.Trials.Skip(3).Select(t => t.Attempt));
            Assert.Equal(Loss(5, 3), status.Trials[5].FinalLoss);
        }
    }
}
