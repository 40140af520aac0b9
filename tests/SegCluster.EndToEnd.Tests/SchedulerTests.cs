using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using static SegCluster.EndToEnd.Tests.ExperimentPolling;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// The scheduler through the grains of a real in-process node with 3 CPU workers, tiny experiments that really
/// train: gangs are all-or-nothing, what does not fit waits in a strict FIFO queue and starts when workers are
/// released (cancel releases them), and concurrent submissions never put two running experiments on one worker.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class SchedulerTests : IDisposable
{
    private const int Workers = 3;
    private readonly DirectoryInfo _checkpoints = Directory.CreateTempSubdirectory("segcluster-scheduler-");

    [Fact]
    public async Task A_gang_that_does_not_fit_waits_in_order_and_starts_when_a_cancel_releases_the_workers()
    {
        await using var node = await EmbeddedTestNode.StartAsync(Workers, _checkpoints);
        var scheduler = node.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);

        var first = await scheduler.SubmitAsync("first", Spec(workers: 2, steps: 100_000));
        var second = await scheduler.SubmitAsync("second", Spec(workers: 2, steps: 2));
        var third = await scheduler.SubmitAsync("third", Spec(workers: 1, steps: 2));

        Assert.Equal(2, first.Workers.Count);
        // All or nothing: one worker is free, but the 2-worker gang takes none; FIFO: the 1-worker gang that would
        // fit waits behind it instead of overtaking (no starvation of large gangs).
        Assert.Equal((false, 1), (second.Started, second.QueuePosition));
        Assert.Equal((false, 2), (third.Started, third.QueuePosition));
        var snapshot = await scheduler.GetSnapshotAsync();
        Assert.Equal(new[] { "second", "third" }, snapshot.Queue);
        Assert.Equal(first.Workers.Order(), snapshot.Workers.Where(w => w.ExperimentId == "first").Select(w => w.Worker.WorkerId).Order());
        Assert.Single(snapshot.Workers, w => w.ExperimentId is null);

        await node.Grains.GetGrain<IExperimentGrain>("first").CancelAsync();

        var secondDone = await UntilFinalAsync(node.Grains.GetGrain<IExperimentGrain>("second"));
        var thirdDone = await UntilFinalAsync(node.Grains.GetGrain<IExperimentGrain>("third"));
        Assert.Equal(ExperimentState.Cancelled, (await node.Grains.GetGrain<IExperimentGrain>("first").GetStatusAsync()).State);
        Assert.Equal((ExperimentState.Completed, ExperimentState.Completed), (secondDone.State, thirdDone.State));
        Assert.Empty(secondDone.WorkerIds.Intersect(thirdDone.WorkerIds));  // both ran at once after the release
        await UntilAsync(async () => (await scheduler.GetSnapshotAsync()) is { Queue.Count: 0 } s && s.Workers.All(w => w.ExperimentId is null),
            "workers were not all released after every experiment ended");
    }

    [Fact]
    public async Task Concurrent_submissions_never_put_two_running_experiments_on_one_worker()
    {
        await using var node = await EmbeddedTestNode.StartAsync(Workers, _checkpoints);
        var scheduler = node.Grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var sizes = new[] { 2, 1, 2, 1, 3, 1 };
        var ids = sizes.Select((_, i) => $"concurrent-{i}").ToList();

        var tickets = await Task.WhenAll(ids.Select((id, i) => scheduler.SubmitAsync(id, Spec(sizes[i], steps: 2))));

        Assert.True(tickets.Where(t => t.Started).Sum(t => t.Workers.Count) <= Workers, "more workers handed out than exist");
        var experiments = ids.Select(id => node.Grains.GetGrain<IExperimentGrain>(id)).ToList();
        await UntilAsync(async () =>
        {
            var snapshot = await scheduler.GetSnapshotAsync();
            var statuses = await Task.WhenAll(experiments.Select(e => e.GetStatusAsync()));
            // Every held gang is whole (all or nothing), and no worker is in two running rings at once.
            foreach (var group in snapshot.Workers.Where(w => w.ExperimentId is not null).GroupBy(w => w.ExperimentId!))
                Assert.Equal(sizes[ids.IndexOf(group.Key)], group.Count());
            var running = statuses.Where(s => s.State == ExperimentState.Running).SelectMany(s => s.WorkerIds).ToList();
            Assert.Equal(running.Count, running.Distinct().Count());
            return statuses.All(s => s.State.IsFinal());
        }, "the submitted experiments did not all finish");

        var final = await Task.WhenAll(experiments.Select(e => e.GetStatusAsync()));
        Assert.All(final, s => Assert.True(s.State == ExperimentState.Completed, $"{s.ExperimentId}: {s.State} {s.Error}"));
        Assert.All((await scheduler.GetSnapshotAsync()).Workers, w => Assert.Null(w.ExperimentId));
    }

    private static ExperimentSpec Spec(int workers, int steps) => SpecFiles.Parse<ExperimentSpec>($"""
        name: scheduled
        workers: {workers}
        seed: 1
        dataset:
          height: 16
          width: 16
          train_count: 16
          validation_count: 4
        model:
          width: 4
          norm: gn
        training:
          steps: {steps}
          batch_per_worker: 1
          evaluation_batch: 4
        """, SpecFormat.Yaml);

    public void Dispose() => _checkpoints.Delete(recursive: true);
}
