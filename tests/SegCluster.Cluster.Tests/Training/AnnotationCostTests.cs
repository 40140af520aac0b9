using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Labels;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>The annotation cost result.json and a sweep's results report beside the mIoU (PAPERS.md §2 block annotation, §5
/// scribbles): one formula for blocks, spectral-sweep's, and for scribbles the strokes training itself draws.</summary>
public sealed class AnnotationCostTests
{
    private static readonly ExperimentSpec Small = new() { Seed = 4, Dataset = new DatasetSpec { Height = 32, Width = 48, TrainCount = 12 } };

    [Fact]
    public void Dense_masks_are_labelled_whole_and_blocks_once_per_block()
    {
        Assert.Equal(1, AnnotationCost.LabelledFraction(Small));
        Assert.Equal(1, AnnotationCost.LabelledFraction(Small with { Labels = new LabelsSpec { Mode = LabelsSpec.SoftCe, Factor = 4 } }));  // made from full masks
        var blocks = Small with { Labels = new LabelsSpec { Mode = LabelsSpec.Block, Factor = 4 } };
        Assert.Equal(8.0 * 12 / (32 * 48), AnnotationCost.LabelledFraction(blocks), 12);
        Assert.Equal(1 - BlockAnnotator.CostSaved(32, 48, 4), AnnotationCost.LabelledFraction(blocks));
    }

    /// <summary>The scribbled share is the share of labelled pixels in the labels the scribble runs train on (the training
    /// source's strokes, not another drawing of them); the regularised loss on full masks draws the same strokes.</summary>
    [Fact]
    public void Scribbles_are_the_share_of_pixels_their_training_strokes_label()
    {
        var scribbles = Small with { Labels = new LabelsSpec { Mode = LabelsSpec.Scribble } };
        var trained = new ScribbledSource(new CachedDatasetSource(new SyntheticSceneDataset(SpecMapping.TrainData(scribbles)), 0), SpecMapping.TrainingScribbles(scribbles)!);
        var labels = Enumerable.Range(0, trained.Count).Select(i => trained.Load(i, epoch: 0).Label).ToList();
        var expected = labels.Sum(l => l.Count(v => v != SegmentationSample.IgnoreLabel)) / (double)labels.Sum(l => l.Length);

        var measured = AnnotationCost.LabelledFraction(scribbles, images: Small.Dataset.TrainCount);

        Assert.Equal(expected, measured, 12);
        Assert.InRange(measured, 0.01, 0.3);  // strokes, not masks
        Assert.Equal(measured, AnnotationCost.LabelledFraction(Small with { Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind } }, images: Small.Dataset.TrainCount));
    }
}
