using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// A node holding a running gang leaves: the scheduler forgets its workers but keeps their allocation until the
/// experiment re-forms, and its worker gauge still counts the known workers by state (free = known and not held),
/// not known workers minus every allocation (which went negative here).
/// </summary>
public sealed class SchedulerNodeLossTests
{
    [Fact]
    public async Task After_a_node_loss_the_free_worker_gauge_counts_the_known_workers_that_are_not_allocated()
    {
        await using var nodes = await TwoNodes.StartAsync(new ExperimentStarts(), doomedWorkers: 2);
        var scheduler = nodes.Scheduler;
        var ticket = await scheduler.SubmitAsync("packed", new ExperimentSpec { Workers = 2 });
        Assert.All(ticket.Workers, w => Assert.StartsWith(nodes.DoomedNodeId + "/", w));  // packed on the node with most free workers

        await nodes.KillDoomedAsync();
        await scheduler.CheckAsync();

        Assert.Single((await scheduler.GetSnapshotAsync()).Workers);
        Assert.Equal(new Dictionary<string, int> { ["free"] = 1, ["allocated"] = 0 }, SchedulerWorkersGauge.Read(nodes.Primary.ServiceProvider));
    }

    [Fact]
    public async Task An_experiment_whose_workers_another_re_formation_forgot_is_still_told_they_were_lost()
    {
        var starts = new ExperimentStarts();
        await using var nodes = await TwoNodes.StartAsync(starts, doomedWorkers: 3);
        var scheduler = nodes.Scheduler;
        var packed = await scheduler.SubmitAsync("packed", new ExperimentSpec { Workers = 2 });     // both ranks on the doomed node
        var spanning = await scheduler.SubmitAsync("spanning", new ExperimentSpec { Workers = 2 }); // one rank on each node
        Assert.All(packed.Workers, w => Assert.StartsWith(nodes.DoomedNodeId + "/", w));
        Assert.True(spanning.Started);

        await nodes.KillDoomedAsync();
        // The spanning run noticed first (its ring broke) and re-forms: that forgets every worker of the dead node,
        // the packed run's too, before any check told the packed run, which has no live rank left to notice.
        Assert.Empty(await scheduler.ReformAsync("spanning", 2, "cpu"));
        await scheduler.CheckAsync();

        var notice = Assert.Single(starts.LostNotices, n => n.ExperimentId == "packed");
        Assert.Equal(packed.Workers.Order(), notice.Workers.Order());
    }

    /// <summary>
    /// A primary silo with one worker, holding the scheduler (activated, and its state written, while it is the only silo,
    /// so it and its storage outlive the other node), and a doomed silo with <c>doomedWorkers</c> workers.
    /// </summary>
    private sealed class TwoNodes(InProcessTestCluster cluster, InProcessSiloHandle doomed, IClusterMembershipService membership) : IAsyncDisposable
    {
        public InProcessSiloHandle Primary => cluster.Silos[0];
        public ISchedulerGrain Scheduler => Primary.ServiceProvider.GetRequiredService<IGrainFactory>().GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        public string DoomedNodeId => SchedulerClusters.NodeId(doomed);

        public static async Task<TwoNodes> StartAsync(ExperimentStarts starts, int doomedWorkers)
        {
            var cluster = await SchedulerClusters.StartAsync(starts);
            var primary = cluster.Silos[0];
            var membership = primary.ServiceProvider.GetRequiredService<IClusterMembershipService>();
            var scheduler = primary.ServiceProvider.GetRequiredService<IGrainFactory>().GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
            await scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(SchedulerClusters.NodeId(primary), 1));
            var doomed = await cluster.StartAdditionalSiloAsync();
            await UntilAsync(membership, doomed, SiloStatus.Active);
            await scheduler.RegisterWorkersAsync(SchedulerClusters.Workers(SchedulerClusters.NodeId(doomed), doomedWorkers));
            return new TwoNodes(cluster, doomed, membership);
        }

        /// <summary>Stops the doomed silo and waits until membership lists it as dead.</summary>
        public async Task KillDoomedAsync()
        {
            await cluster.StopSiloAsync(doomed);
            await UntilAsync(membership, doomed, SiloStatus.Dead);
        }

        public ValueTask DisposeAsync() => cluster.DisposeAsync();
    }

    /// <summary>Waits for the membership update that shows <paramref name="silo"/> in <paramref name="status"/>.</summary>
    private static async Task UntilAsync(IClusterMembershipService membership, InProcessSiloHandle silo, SiloStatus status)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(timeout.Token))
            if (snapshot.Members.TryGetValue(silo.SiloAddress, out var member) && member.Status == status) return;
    }
}
