namespace SegCluster.Vision.Data;

/// <summary>
/// A random-access segmentation dataset. Implementations must make <see cref="Get"/> thread-safe:
/// data-parallel ranks read from one instance concurrently.
/// </summary>
public interface ISegmentationDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>K: label values are in [0, K) or 255 (ignore).</summary>
    int NumClasses { get; }

    /// <summary>K human-readable class names, index = class id.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>Returns sample <paramref name="index"/> in [0, Count).</summary>
    SegmentationSample Get(int index);
}
