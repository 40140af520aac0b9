using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Grains;
using StackExchange.Redis;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>
/// Redis refuses writes (at its memory limit, as a full or failing-over Redis does) for longer than the write retries
/// while trials finish: the sweep is not recorded as failed. Its coordinator is replaced, and once Redis takes writes
/// again the next call resumes it from the stored record: the trials whose results were not stored run again.
/// </summary>
public sealed class SweepStorageFailureTests
{
    [RequiresRedisFact]
    public async Task A_sweep_whose_results_cannot_be_written_resumes_instead_of_failing()
    {
        await using var redis = await RedisServer.StartAsync();
        void Storage(ISiloBuilder silo) => silo.AddSegClusterRedisGrainStorage(ConfigurationOptions.Parse(redis.Address));
        var sweep = new SweepSpec
        {
            Name = "outage", TrialSteps = 2, MaxConcurrentTrials = 2,
            Base = new ExperimentSpec { Training = new TrainingSpec { BatchPerWorker = 2 }, Dataset = new DatasetSpec { TrainCount = 16 } },
            Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Grid, Values = ["0", "1", "2"] }],
        };
        var runner = new ScriptedTrialRunner((trial, step) => 1 + trial + 1.0 / step) { Hold = [0, 1] };
        await using var cluster = await SweepClusters.StartAsync(runner, Storage);
        var grain = cluster.Client.GetGrain<ISweepGrain>("outage-1");
        await grain.StartAsync(sweep, SweepClusters.Workers(2));
        await runner.AllHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await redis.RefuseWritesAsync();
        runner.Released.TrySetResult();  // trials 0 and 1 finish; saving their results (and trial 2's launch) fails
        await UntilAsync(async () => await redis.RefusedWritesAsync() > 0, "the sweep never tried to save while Redis refused writes");
        await UntilAsync(async () => await GrainActivations.CountAsync(cluster.Client, typeof(SweepGrain)) == 0,
            "the sweep's coordinator was never replaced after its saves failed");
        await redis.RefuseWritesAsync(false);
        var status = await SweepClusters.UntilEndedAsync(grain);

        Assert.Equal(SweepState.Completed, status.State);
        Assert.All(status.Trials, t => Assert.Equal(TrialState.Completed, t.State));
        Assert.Equal([2, 2, 1], status.Trials.Select(t => t.Attempt));  // 0 and 1 again: their results were never stored
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string failure)
    {
        var limit = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > limit) throw new TimeoutException(failure);
            await Task.Delay(50);
        }
    }
}
