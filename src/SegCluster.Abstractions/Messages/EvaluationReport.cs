namespace SegCluster.Abstractions.Messages;

/// <summary>Validation metrics of a trained model (confusion-matrix IoU over the validation split).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.EvaluationReport")]
public sealed record EvaluationReport(
    [property: Id(0)] double MeanIoU,
    [property: Id(1)] double PixelAccuracy,
    [property: Id(2)] IReadOnlyList<double> ClassIoU,
    [property: Id(3)] IReadOnlyList<string> ClassNames);
