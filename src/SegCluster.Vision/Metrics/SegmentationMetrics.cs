namespace SegCluster.Vision.Metrics;

/// <summary>Evaluation summary.</summary>
/// <param name="MeanIoU">Mean IoU over classes present in labels or predictions.</param>
/// <param name="PixelAccuracy">Correct / valid pixels.</param>
/// <param name="ClassIoU">Per-class IoU, NaN for a class absent from both labels and predictions.</param>
public sealed record SegmentationMetrics(double MeanIoU, double PixelAccuracy, IReadOnlyList<double> ClassIoU);
