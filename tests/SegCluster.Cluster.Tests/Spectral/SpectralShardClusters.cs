using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Spectral;
using SegCluster.Vision.Spectral;

namespace SegCluster.Cluster.Tests.Spectral;

/// <summary>Real in-process silos hosting spectral shard grains (memory storage, the shard-spreading placement).</summary>
internal static class SpectralShardClusters
{
    /// <summary>Small synthetic labels: 5 classes, 32×32, 24 training images.</summary>
    public static readonly ExperimentSpec Spec = new() { Seed = 3, Dataset = new DatasetSpec { NumClasses = 5, Height = 32, Width = 32, TrainCount = 24 } };

    public static async Task<InProcessTestCluster> StartAsync(int silos, IShardSpectralAnalyser analyser)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(ClusterStorage.Spectral);
            silo.Services.AddSingleton(analyser);  // before the grains' own services, which add the real analyser only when none is given
            silo.Services.AddSegClusterGrainDependencies();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>The single-process reference: one advisor over images 0..n-1 in order, batches of 8.</summary>
    public static SpectralStatistics SingleProcess(int images) =>
        ShardSpectralAnalyser.Analyse(ShardSpectralAnalyser.Labels(Spec), Enumerable.Range(0, images), batchSize: 8);
}
