using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cli.Sweeps;

/// <summary>
/// A finished (or cancelled) sweep as the report folder keeps it: results.json (spec + every trial, snake_case) and
/// results.csv (one row a trial, best first). `segcluster results` reads it back.
/// </summary>
public sealed record SweepReport(string SweepId, SweepState State, SweepSpec Spec, IReadOnlyList<TrialResult> Trials, DateTime WrittenAt)
{
    public const string JsonFile = "results.json";
    public const string CsvFile = "results.csv";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        // A file that is JSON but no report ({}, a spec) is an error naming the missing field, not a null spec downstream.
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static SweepReport From(SweepStatus status) =>
        new(status.SweepId, status.State, status.Spec ?? throw new ArgumentException("The sweep has no spec.", nameof(status)), status.Trials, DateTime.UtcNow);

    /// <summary>Trials best first (completed before stopped, by the sweep metric in its mode).</summary>
    [JsonIgnore] public IReadOnlyList<TrialResult> Ranked => SweepStatus.Ranked(Spec, Trials);

    /// <summary>The axis paths, in spec order (canonical snake_case, as the trials record them).</summary>
    [JsonIgnore] public IReadOnlyList<string> AxisPaths => Trials.FirstOrDefault()?.Parameters.Select(p => p.Path).ToList() ?? [];

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static SweepReport FromJson(string json, string source) =>
        JsonSerializer.Deserialize<SweepReport>(json, Json) ?? throw new InvalidDataException($"{source}: empty sweep report.");

    /// <summary>The classes of the trials' evaluations, in evaluation order: a column class_iou.NAME each in results.csv.</summary>
    [JsonIgnore] public IReadOnlyList<string> ClassNames => Trials.SelectMany(t => t.ClassIoU?.Keys ?? []).Distinct().ToList();

    public string ToCsv()
    {
        var text = new StringBuilder();
        var classes = ClassNames;
        var columns = new[] { "rank", "trial", "state", $"metric_{Spec.Metric}", "miou", "pixel_accuracy", "labelled_fraction" }
            .Concat(classes.Select(c => $"class_iou.{c}"))
            .Concat(["final_loss", "steps", "seconds"]).Concat(AxisPaths).Append("best_checkpoint").Append("reason");
        text.AppendLine(string.Join(',', columns.Select(Quote)));
        var rank = 0;
        foreach (var t in Ranked)
        {
            var cells = new[] { $"{++rank}", t.Name, t.State.ToString().ToLowerInvariant(), Number(t.Metric), Number(t.MeanIoU), Number(t.PixelAccuracy), Number(t.LabelledFraction) }
                .Concat(classes.Select(c => Number(t.ClassIoU?.GetValueOrDefault(c))))
                .Concat([Number(t.FinalLoss), $"{t.Steps}", Number(t.Seconds)])
                .Concat(AxisPaths.Select(p => t.ValueOf(p) ?? "")).Append(t.BestCheckpoint?.Path ?? "").Append(t.Reason ?? "");
            text.AppendLine(string.Join(',', cells.Select(Quote)));
        }
        return text.ToString();
    }

    /// <summary>Writes results.json and results.csv into <paramref name="folder"/> (created if needed), each through a
    /// temporary file renamed over the old one: `segcluster results` reading a running sweep's report never sees half of one.</summary>
    public async Task WriteAsync(DirectoryInfo folder, CancellationToken cancellationToken)
    {
        folder.Create();
        await Output.OutputFolder.WriteAtomicallyAsync(Path.Combine(folder.FullName, JsonFile), ToJson(), cancellationToken);
        await Output.OutputFolder.WriteAtomicallyAsync(Path.Combine(folder.FullName, CsvFile), ToCsv(), cancellationToken);
    }

    private static string Number(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n']) >= 0 ? $"\"{cell.Replace("\"", "\"\"")}\"" : cell;
}
