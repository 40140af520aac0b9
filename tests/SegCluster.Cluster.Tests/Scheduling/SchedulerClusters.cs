using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Scheduling;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// Real in-process silos hosting the real scheduler over scripted experiments and workers (the real ones are taken out
/// of the silo, so the interfaces resolve to the scripted grains).
/// </summary>
internal static class SchedulerClusters
{
    /// <param name="storage">Registers the scheduler's grain storage; null = in memory.</param>
    /// <param name="probes">What the scripted workers do when probed or given a rank; null = answer at once.</param>
    /// <param name="clock">The clock leases lapse by; null = the system's.</param>
    /// <param name="configure">More silo set-up (a grain-call filter); null = none.</param>
    public static async Task<InProcessTestCluster> StartAsync(ExperimentStarts starts, Action<ISiloBuilder>? storage = null, WorkerProbes? probes = null,
        TimeProvider? clock = null, Action<ISiloBuilder>? configure = null)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            if (storage is null) silo.AddMemoryGrainStorage(ClusterStorage.Scheduler);
            else storage(silo);
            silo.Services.PostConfigure<GrainTypeOptions>(o =>
            {
                o.Classes.Remove(typeof(ExperimentGrain));
                o.Classes.Remove(typeof(WorkerGrain));
            });
            silo.Services.AddSingleton(starts);
            silo.Services.AddSingleton(probes ?? new WorkerProbes());
            if (clock is not null) silo.Services.AddKeyedSingleton(SchedulerGrain.LeaseClock, clock);
            silo.Services.AddSegClusterGrainDependencies();
            configure?.Invoke(silo);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>The node id of a silo: its name in the membership table, which the scheduler checks workers' nodes against.</summary>
    public static string NodeId(InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<ILocalSiloDetails>().Name;

    /// <summary>CPU workers 0..count-1 of node <paramref name="nodeId"/> (a silo name: the scheduler allocates only on live nodes).</summary>
    public static IReadOnlyList<WorkerInfo> Workers(string nodeId, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new WorkerInfo(WorkerIds.For(nodeId, i), nodeId, "cpu", ""))];

    /// <summary>The experiments holding each worker, by worker id (null = free).</summary>
    public static async Task<Dictionary<string, string?>> AllocationsAsync(ISchedulerGrain scheduler) =>
        (await scheduler.GetSnapshotAsync()).Workers.ToDictionary(w => w.Worker.WorkerId, w => w.ExperimentId);
}
