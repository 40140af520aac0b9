namespace SegCluster.Abstractions.Messages;

/// <summary>Validation metrics of a trained model (confusion-matrix IoU over the validation split).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.EvaluationReport")]
public sealed record EvaluationReport(
    [property: Id(0)] double MeanIoU,
    [property: Id(1)] double PixelAccuracy,
    [property: Id(2)] IReadOnlyList<double> ClassIoU,
    [property: Id(3)] IReadOnlyList<string> ClassNames)
{
    /// <summary>Each class's IoU by name; a class absent from the validation split has no IoU (NaN), given as null (JSON has
    /// no NaN). What result.json and a sweep's results write.</summary>
    public Dictionary<string, double?> ClassIoUByName() =>
        ClassNames.Zip(ClassIoU).ToDictionary(p => p.First, p => double.IsNaN(p.Second) ? (double?)null : p.Second);
}
