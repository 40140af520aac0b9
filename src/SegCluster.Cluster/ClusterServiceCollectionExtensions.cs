using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Hosting;
using SegCluster.Abstractions.Security;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Placement;
using SegCluster.Cluster.Scheduling;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Spectral;
using SegCluster.Cluster.Sweeps;
using SegCluster.Cluster.Telemetry;
using SegCluster.Cluster.Training;

namespace SegCluster.Cluster;

public static class ClusterServiceCollectionExtensions
{
    /// <summary>Services the grains of a node need: node options (validated at start), metrics, data sources, training loops, sweep trial runner, worker placement, the client token filter, the scheduler heartbeat.</summary>
    public static IServiceCollection AddSegClusterGrainServices(this IServiceCollection services)
    {
        services.AddOptions<NodeOptions>().BindConfiguration(NodeOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NodeOptions>, NodeOptionsValidator>();
        services.AddHostedService<InstrumentsAtStartup>();
        services.AddOptions<DataOptions>().BindConfiguration(DataOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DataOptions>, DataOptionsValidator>();
        services.AddOptions<ExperimentOptions>().BindConfiguration(ExperimentOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ExperimentOptions>, ExperimentOptionsValidator>();
        services.AddSingleton<TrainingDataSources>();
        services.AddSingleton<DeviceOccupancy>();
        services.AddSingleton<WorkerTrainingLoopFactory>();
        services.AddSingleton<NodeReducerGroups>();
        services.AddHostedService<TorchRuntimeService>();
        services.AddOptions<SweepOptions>().BindConfiguration(SweepOptions.Section)
            .Validate(o => o.PollInterval > TimeSpan.Zero, "Sweeps:PollInterval must be positive, e.g. 00:00:00.2.")
            .Validate(o => o.LossWindow >= 1, "Sweeps:LossWindow must be at least 1 step.")
            .Validate(o => o.MaxCurvePoints >= 2, "Sweeps:MaxCurvePoints must be at least 2.")
            .Validate(o => o.CancelWait > TimeSpan.Zero && o.CancelWait <= TimeSpan.FromSeconds(25), "Sweeps:CancelWait must be positive and at most 00:00:25 (below the 30 s grain-call timeout).")
            .ValidateOnStart();
        services.AddOptions<SpectralShardOptions>().BindConfiguration(SpectralShardOptions.Section)
            .Validate(o => o.AnswerWithin > TimeSpan.Zero && o.AnswerWithin <= SpectralShardOptions.MaxAnswerWithin,
                $"SpectralShards:AnswerWithin must be positive and at most {SpectralShardOptions.MaxAnswerWithin} (below the 30 s grain-call timeout it exists to stay under).")
            .ValidateOnStart();
        services.AddSegClusterGrainDependencies();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, DuplicateNodeCheck>();
        services.AddHostedService<NodeAgentService>();
        services.AddSingleton<IIncomingGrainCallFilter, ClientTokenFilter>();
        services.AddSingleton<IOutgoingGrainCallFilter>(sp =>
            new ClusterTokenCallFilter(sp.GetRequiredService<IOptions<NodeOptions>>().Value.Token ?? ""));
        return services;
    }

    /// <summary>
    /// What the grains themselves resolve (metrics, the sweep trial runner and spectral filter, the shard analyser, the
    /// node's spec path roots, both placement directors), without the node's hosting (options from configuration, hosted services, token filters).
    /// The node registers these through <see cref="AddSegClusterGrainServices"/>; in-process test and bench silos call
    /// this directly, so a new grain dependency reaches them too. Runner and analyser are TryAdd: register a
    /// replacement first.
    /// </summary>
    public static IServiceCollection AddSegClusterGrainDependencies(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<SegClusterMetrics>();
        services.TryAddKeyedSingleton(SchedulerGrain.LeaseClock, TimeProvider.System);  // tests register a fake first
        services.TryAddKeyedSingleton(ExperimentGrain.Clock, TimeProvider.System);  // tests register a fake first
        services.AddOptions<SweepOptions>();
        services.AddOptions<SpectralShardOptions>();
        services.AddOptions<ExperimentOptions>();
        services.TryAddSingleton<ITrialRunner, ExperimentTrialRunner>();
        services.TryAddSingleton<SpectralTrialFilter>();
        services.TryAddSingleton<IShardSpectralAnalyser, ShardSpectralAnalyser>();
        services.TryAddSingleton(sp => SpecPathPolicy.For(sp.GetRequiredService<IOptions<NodeOptions>>().Value));
        services.AddPlacementDirector<DevicePlacement, DevicePlacementDirector>();
        services.AddPlacementDirector<ShardSpreadPlacement, ShardSpreadPlacementDirector>();
        return services;
    }
}
