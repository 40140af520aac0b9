using SegCluster.Abstractions.Specs;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Labels;

namespace SegCluster.Cluster.Training;

/// <summary>
/// How much of each training image an annotator labels for a spec's training labels, the annotation cost PAPERS.md §2
/// ("Block-wise weak annotation": cost saved against mIoU) and §5 (scribbles) compare: 1 for dense masks (full, and the
/// down-sampling modes made from them); for labels.mode block one label per b×b block, 1 − <see cref="BlockAnnotator.CostSaved"/>
/// (what spectral-sweep reports as labels saved); for scribbles the share of pixels the strokes label, measured on train
/// images spread through the split, with the strokes training draws from them (or a dataset's own scribbles).
/// </summary>
public static class AnnotationCost
{
    /// <summary>Train images the scribbled share is measured on.</summary>
    public const int MeasuredImages = 32;

    /// <summary>The labelled share, in (0, 1]. Scribbles read the train split's masks (a files dataset's from its folder).</summary>
    public static double LabelledFraction(ExperimentSpec spec, int images = MeasuredImages)
    {
        if (SpecMapping.TrainsOnScribbles(spec)) return ScribbledShare(spec, images);
        var d = spec.Dataset;
        return spec.Labels.Mode == LabelsSpec.Block ? 1 - BlockAnnotator.CostSaved(d.Height, d.Width, spec.Labels.Factor) : 1;
    }

    private static double ScribbledShare(ExperimentSpec spec, int images)
    {
        var d = spec.Dataset;
        ISegmentationDataset masks = d.Kind == DatasetSpec.Files
            ? new FileSegmentationDataset(DatasetLayoutDetector.Open(d.Path!, d.Format), d.TrainSplit)
            : new SyntheticSceneDataset(SpecMapping.TrainData(spec));
        // The strokes training draws (keyed by the image's index, as the training sources draw them), with the files' class
        // count; none for a split of scribbles, whose masks are the annotation.
        var annotation = SpecMapping.TrainingAnnotation(spec with { Dataset = d with { NumClasses = masks.NumClasses } });
        long labelled = 0, pixels = 0;
        var taken = Math.Min(images, masks.Count);
        for (var k = 0; k < taken; k++)
        {
            var index = (int)((long)k * masks.Count / taken);  // spread through the split, as ClassFrequencies.Measure
            var sample = masks.Get(index);
            var label = annotation?.Paint(index, sample.Label, sample.Height, sample.Width) ?? sample.Label;
            labelled += label.Count(v => v != SegmentationSample.IgnoreLabel);
            pixels += label.Length;
        }
        return pixels == 0 ? 0 : (double)labelled / pixels;
    }
}
