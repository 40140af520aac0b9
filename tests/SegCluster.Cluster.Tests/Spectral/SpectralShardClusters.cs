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

    /// <param name="callTimeout">The client's grain-call timeout (Orleans' default 30 s when null).</param>
    /// <param name="answerWithin">SpectralShardOptions.AnswerWithin (its default when null).</param>
    /// <param name="filter">A call filter on every silo (a test's observer of the grains' answers).</param>
    public static async Task<InProcessTestCluster> StartAsync(int silos, IShardSpectralAnalyser analyser, TimeSpan? callTimeout = null, TimeSpan? answerWithin = null,
        IIncomingGrainCallFilter? filter = null)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(ClusterStorage.Spectral);
            silo.Services.AddSingleton(analyser);  // before the grains' own services, which add the real analyser only when none is given
            silo.Services.AddSegClusterGrainDependencies();
            if (answerWithin is { } wait) silo.Services.Configure<SpectralShardOptions>(o => o.AnswerWithin = wait);
            if (filter is not null) silo.Services.AddSingleton(filter);
        });
        if (callTimeout is { } timeout)
            builder.ConfigureClient(client => client.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = timeout));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>The single-process reference: one advisor over images 0..n-1 in order, batches of 8.</summary>
    public static SpectralStatistics SingleProcess(int images) =>
        ShardSpectralAnalyser.Analyse(ShardSpectralAnalyser.Labels(Spec), Enumerable.Range(0, images), batchSize: 8);
}
