using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>Real in-process silos hosting sweep grains with a given trial runner and sweep storage.</summary>
internal static class SweepClusters
{
    /// <param name="storage">Sweep storage; memory when null. Clusters sharing Redis storage share the service id, as a real cluster's nodes do.</param>
    /// <param name="options">Sweep settings of the silo; the defaults when null.</param>
    /// <param name="configure">Anything else the silo needs (a grain call filter that injects failures).</param>
    public static async Task<InProcessTestCluster> StartAsync(ITrialRunner runner, Action<ISiloBuilder>? storage = null, Action<SweepOptions>? options = null,
        Action<ISiloBuilder>? configure = null)
    {
        var builder = new InProcessTestClusterBuilder(1);
        if (storage is not null) builder.Options.ServiceId = "segcluster-sweep-tests";
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(ClusterStorage.Scheduler);  // a sweep holds its workers there (a storage below may replace it)
            if (storage is null) silo.AddMemoryGrainStorage(ClusterStorage.Sweeps);
            else storage(silo);
            if (options is not null) silo.Services.Configure(options);
            configure?.Invoke(silo);
            silo.Services.AddSingleton(runner);  // before the grains' own services, which add the real runner only when none is given
            silo.Services.AddSegClusterGrainDependencies();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>Asks for the status until the sweep has ended (each call also resumes a sweep whose coordinator was lost).</summary>
    /// <param name="failed">The sweep is to end failed, with an error (asserted absent otherwise).</param>
    public static async Task<SweepStatus> UntilEndedAsync(ISweepGrain sweep, int pollMilliseconds = 20, bool failed = false)
    {
        var limit = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var status = await sweep.GetStatusAsync();
        while (status.State is SweepState.Running or SweepState.Pending)
        {
            if (DateTime.UtcNow > limit)
                throw new TimeoutException($"sweep still {status.State} after 60 s: " + string.Join(", ", status.Trials.Select(t => $"{t.Index}:{t.State}")));
            await Task.Delay(pollMilliseconds);
            status = await sweep.GetStatusAsync();
        }
        if (failed) Assert.Equal(SweepState.Failed, status.State);
        else Assert.Null(status.Error);
        return status;
    }

    /// <summary>Asks <paramref name="condition"/> until it holds, at most 30 s: for what a sweep's driver does in its own
    /// turn, after the event a test can await (a save it makes once a held trial reported).</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int pollMilliseconds = 20)
    {
        var limit = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > limit) throw new TimeoutException($"not after 30 s: {what}");
            await Task.Delay(pollMilliseconds);
        }
    }

    public static IReadOnlyList<string> Workers(int count) => Enumerable.Range(0, count).Select(i => WorkerIds.For("test", i)).ToList();
}
