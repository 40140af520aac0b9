using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>
/// The workers of one process build their models at the same time from torch's one global generator; the
/// initial weights must still follow spec.seed alone (rank 0's are broadcast, and runs must repeat).
/// </summary>
public sealed class ModelInitialisationTests
{
    [Fact]
    public void Models_built_concurrently_from_one_spec_start_from_the_seeds_weights()
    {
        var spec = new ExperimentSpec { Seed = 5, Model = new ModelSpec { Width = 4 } };
        var models = new SegmentationModel[4];
        Parallel.For(0, models.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => models[i] = SpecMapping.BuildModel(spec));
        using var other = SpecMapping.BuildModel(spec with { Seed = 6 });
        try
        {
            var reference = models[0].parameters().ToArray();
            foreach (var model in models.Skip(1))
                Assert.All(model.parameters().Zip(reference), pair => Assert.True(pair.First.eq(pair.Second).all().item<bool>()));
            Assert.Contains(other.parameters().Zip(reference), pair => !pair.First.eq(pair.Second).all().item<bool>());
        }
        finally
        {
            foreach (var model in models) model.Dispose();
        }
    }
}
