using System.Text.Json;
using System.Text.Json.Serialization;
using SegCluster.Vision.Metrics;

namespace SegCluster.Cli.Evaluation;

/// <summary>What `segcluster eval` reports, and the contents of its --out JSON (snake_case): metrics, per-class IoU by
/// name (null for a class absent from labels and predictions), the confusion matrix (row = true class), and how it was run.</summary>
public sealed record EvaluationResult(
    string Checkpoint,
    string Dataset,
    string Split,
    int Images,
    int Workers,
    string Mode,
    string? Crop,
    string? Stride,
    bool Flip,
    IReadOnlyList<double> Scales,
    double Miou,
    double PixelAccuracy,
    IReadOnlyList<ClassIou> Classes,
    IReadOnlyList<long[]> Confusion,
    double ElapsedSeconds)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static IReadOnlyList<ClassIou> ClassTable(IReadOnlyList<string> names, SegmentationMetrics metrics) =>
        names.Zip(metrics.ClassIoU).Select(p => new ClassIou(p.First, double.IsNaN(p.Second) ? null : p.Second)).ToList();

    public static IReadOnlyList<long[]> Rows(long[] counts, int numClasses) =>
        Enumerable.Range(0, numClasses).Select(r => counts.AsSpan(r * numClasses, numClasses).ToArray()).ToList();

    /// <summary>Writes the JSON atomically (temp file + rename).</summary>
    public async Task WriteAsync(string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await Output.OutputFolder.WriteAtomicallyAsync(path, JsonSerializer.Serialize(this, Json), cancellationToken);
    }

    public static EvaluationResult Read(string path) =>
        JsonSerializer.Deserialize<EvaluationResult>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"'{path}' holds no evaluation result.");
}

/// <param name="Iou">Null when the class is absent from both labels and predictions.</param>
public sealed record ClassIou(string Name, double? Iou);
