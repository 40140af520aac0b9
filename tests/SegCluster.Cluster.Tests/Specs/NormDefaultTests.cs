using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Models;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>model.norm left out: syncbn for more than one worker, bn for one (issue 12's recipe); given: as written.</summary>
public sealed class NormDefaultTests
{
    [Theory]
    [InlineData(1, NormKind.BatchNorm)]
    [InlineData(2, NormKind.SyncBatchNorm)]
    [InlineData(4, NormKind.SyncBatchNorm)]
    public void An_unspecified_norm_follows_the_worker_count(int workers, NormKind expected)
    {
        var spec = SpecFiles.Parse<ExperimentSpec>($"workers: {workers}\nmodel: {{ name: spgnet }}\n", SpecFormat.Yaml);
        Assert.Null(spec.Model.Norm);
        Assert.Empty(spec.Validate());
        Assert.Equal(expected, SpecMapping.Model(spec).Norm);
    }

    [Theory]
    [InlineData("bn", 2, NormKind.BatchNorm)]
    [InlineData("gn", 2, NormKind.GroupNorm)]
    [InlineData("none", 3, NormKind.None)]
    [InlineData("syncbn", 1, NormKind.SyncBatchNorm)]
    public void An_explicit_norm_is_kept_whatever_the_worker_count(string norm, int workers, NormKind expected)
    {
        var spec = SpecFiles.Parse<ExperimentSpec>($"workers: {workers}\nmodel: {{ norm: {norm} }}\n", SpecFormat.Yaml);
        Assert.Equal(norm, spec.Model.NormFor(workers));
        Assert.Equal(expected, SpecMapping.Model(spec).Norm);
    }
}
