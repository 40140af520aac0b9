using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Labels;

namespace SegCluster.Cluster.Tests;

/// <summary>spec.labels: validation names the field and the fix; the mapping reaches the criterion's options.</summary>
public sealed class LabelsSpecTests
{
    [Theory]
    [InlineData("bilinear", 4, "labels.mode")]
    [InlineData("soft-ce", 3, "labels.factor")]
    [InlineData("full", 4, "labels.factor")]
    public void Invalid_labels_are_reported_with_the_field(string mode, int factor, string field)
    {
        var spec = new ExperimentSpec { Labels = new LabelsSpec { Mode = mode, Factor = factor } };
        Assert.Contains(spec.Validate(), e => e.StartsWith(field, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("full", 1, LabelMode.Full)]
    [InlineData("nearest", 4, LabelMode.Nearest)]
    [InlineData("soft-ce", 8, LabelMode.SoftCrossEntropy)]
    [InlineData("soft-kl", 2, LabelMode.SoftKl)]
    [InlineData("block", 16, LabelMode.Block)]
    public void Valid_labels_map_to_the_loss_options(string mode, int factor, LabelMode expected)
    {
        var spec = new ExperimentSpec { Labels = new LabelsSpec { Mode = mode, Factor = factor } };
        Assert.Empty(spec.Validate());
        var labels = SpecMapping.Loss(spec).Labels!;
        Assert.Equal(expected, labels.Mode);
        Assert.Equal(factor, labels.Factor);
    }
}
