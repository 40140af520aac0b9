using Microsoft.Extensions.DependencyInjection;
using SegCluster.Abstractions.Grains;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// Two re-formations of one experiment at once (its retry after the first call timed out while the scheduler probed the
/// gang, or a new coordinator activation's retry): the second joins the first and gets its answer. Before, the second
/// freed the first's gang and picked its own, the first then found a silent worker and freed the second's gang: the
/// experiment ran on a gang the scheduler no longer held for it, and held another it did not run on.
/// </summary>
public sealed class ConcurrentReformTests
{
    [Fact]
    public async Task A_second_re_formation_while_the_first_probes_gets_the_first_ones_gang()
    {
        var probes = new WorkerProbes();
        var reforms = new ReformCalls();
        await using var cluster = await SchedulerClusters.StartAsync(new ExperimentStarts(), probes: probes,
            configure: silo => silo.AddIncomingGrainCallFilter(reforms));
        var scheduler = cluster.Client.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        await scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(SchedulerClusters.NodeId(cluster.Silos[0]), 3));

        probes.HoldProbes();  // the first call's gang is being probed; one of its workers turns out silent
        var first = scheduler.ReformAsync("ring", workers: 2, "cpu");
        await probes.ProbesHeld(2).WaitAsync(TimeSpan.FromSeconds(30));
        var second = scheduler.ReformAsync("ring", workers: 2, "cpu");
        await reforms.Waiting(2).WaitAsync(TimeSpan.FromSeconds(30));  // inside the grain, at its first await
        probes.ReleaseProbes();
        var (firstGang, secondGang) = (await first, await second);

        var snapshot = await scheduler.GetSnapshotAsync();
        var held = snapshot.Workers.Where(w => w.ExperimentId == "ring").Select(w => w.Worker.WorkerId).Order().ToList();
        Assert.Equal(2, snapshot.Workers.Count);  // the silent worker was left out
        Assert.Equal(held, firstGang.Order());
        Assert.Equal(held, secondGang.Order());   // before: the gang with the silent worker, which the first call had freed
        Assert.Empty(snapshot.Queue);
    }

    /// <summary>Signals when the n-th re-formation call has run into its first await inside the scheduler.</summary>
    private sealed class ReformCalls : IIncomingGrainCallFilter
    {
        private readonly TaskCompletionSource[] _waiting = [.. Enumerable.Range(0, 8).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))];
        private int _calls;

        public Task Waiting(int call) => _waiting[call - 1].Task;

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.MethodName != nameof(ISchedulerGrain.ReformAsync))
            {
                await context.Invoke();
                return;
            }
            var call = Interlocked.Increment(ref _calls);
            var invoked = context.Invoke();  // synchronous up to the grain method's first await
            _waiting[call - 1].TrySetResult();
            await invoked;
        }
    }
}
