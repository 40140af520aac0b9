using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Telemetry;
using SegCluster.Cluster.Training;

namespace SegCluster.Cluster;

public static class ClusterServiceCollectionExtensions
{
    /// <summary>Services the grains of a node need: node options (validated at start), metrics, data sources, training loops.</summary>
    public static IServiceCollection AddSegClusterGrainServices(this IServiceCollection services)
    {
        services.AddOptions<NodeOptions>().BindConfiguration(NodeOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NodeOptions>, NodeOptionsValidator>();
        services.AddMetrics();
        services.AddSingleton<SegClusterMetrics>();
        services.AddHostedService<InstrumentsAtStartup>();
        services.AddOptions<DataOptions>().BindConfiguration(DataOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DataOptions>, DataOptionsValidator>();
        services.AddSingleton<TrainingDataSources>();
        services.AddSingleton<WorkerTrainingLoopFactory>();
        services.AddHostedService<TorchRuntimeService>();
        return services;
    }
}
