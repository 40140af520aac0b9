namespace SegCluster.Vision.Data.Files;

/// <summary>What `dataset inspect` reports for one split: sample count, image sizes, per-class pixel histogram
/// (train ids after the format's mapping), and the files that cannot be used.</summary>
public sealed record SplitStatistics(
    string Split,
    int Samples,
    int Inspected,
    IReadOnlyDictionary<(int Height, int Width), int> ImageSizes,
    long[] ClassPixels,
    int[] ClassImages,
    long IgnorePixels,
    IReadOnlyList<DatasetFileException> Problems);
