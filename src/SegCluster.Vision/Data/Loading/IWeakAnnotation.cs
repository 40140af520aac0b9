namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// A fixed weak annotation of a split's images (PAPERS.md §2 blocks, §5 scribbles), made from each image's full,
/// un-augmented mask and painted as a mask before augmentation, so it moves with the image: every epoch, crop and scale
/// shows the same annotation, never the pixel labels it leaves out.
/// </summary>
public interface IWeakAnnotation
{
    /// <summary>What determines the annotation (its kind and parameters): two with the same key annotate a split alike, so
    /// the ranks of one node share one (its kept blocks or strokes are held once per node, not per rank).</summary>
    string Key { get; }

    /// <summary>Image <paramref name="index"/>'s annotation as a mask (height × width, 255 = unlabelled); <paramref name="label"/>
    /// is its full mask. Not modified: the decoded sample is cached and may be shared with other runs.</summary>
    byte[] Paint(int index, byte[] label, int height, int width);
}
