using System.Text.Json;
using System.Text.Json.Serialization;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Devices;
using SegCluster.Vision.Training.Precision;

namespace SegCluster.Cli.Output;

/// <summary>What quickstart reports: the contents of result.json (snake_case, for scripts and dashboards).</summary>
public sealed record QuickstartResult(
    double Miou,
    double PixelAccuracy,
    IReadOnlyDictionary<string, double?> ClassIou,
    double ImagesPerSecond,
    int Steps,
    int Workers,
    int BatchPerWorker,
    string ImageSize,
    string Model,
    string Device,
    double ElapsedSeconds)
{
    /// <summary>model.norm as the run used it (derived from the worker count when the spec leaves it out).</summary>
    public string Norm { get; init; } = "";
    /// <summary>The experiment id: the run's checkpoint folder is named after it.</summary>
    public string ExperimentId { get; init; } = "";
    /// <summary>The step of the training.resume_from checkpoint the run started at (0 for a fresh run); <see cref="Steps"/>
    /// is the step it reached, so it trained <see cref="TrainedSteps"/>, which images/s measures.</summary>
    public int StartStep { get; init; }
    /// <summary>training.precision as the workers resolved it (the device's default when the spec leaves it out:
    /// bf16-mixed on CUDA from compute capability 8.0, fp32 on CPU), as <see cref="SpecMapping.Precision"/> does.</summary>
    public string Precision { get; init; } = "";
    /// <summary>training.memory_format as the workers resolved it (channels_last by default on CUDA, contiguous on CPU).</summary>
    public string MemoryFormat { get; init; } = "";
    /// <summary>Which arm of a comparison this run is (PAPERS.md §1 model, §2/§3 label grid and truncation, §4/§5 loss):
    /// two results of a DropClass-vs-baseline pair differ here, not only in their numbers.</summary>
    public int Seed { get; init; }
    public string Backbone { get; init; } = "";
    public string LabelsMode { get; init; } = "";
    public int LabelsFactor { get; init; }
    public string LossKind { get; init; } = "";
    public double DecoderTruncation { get; init; }
    /// <summary>The share of each training image an annotator labels for the run's labels (<see cref="AnnotationCost"/>:
    /// 1 for dense masks, one label per block, or the scribbled pixels); null where it could not be measured.</summary>
    public double? LabelledFraction { get; init; }
    public int TrainedSteps => Steps - StartStep;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static QuickstartResult From(string experimentId, ExperimentSpec spec, ExperimentStatus status, int startStep)
    {
        var evaluation = status.Evaluation ?? throw new ArgumentException("The experiment has no evaluation.", nameof(status));
        var precision = SpecMapping.Precision(spec, DeviceParser.Parse(spec.Device));  // what WorkerTrainingLoop trains with
        return new QuickstartResult(evaluation.MeanIoU, evaluation.PixelAccuracy, evaluation.ClassIoUByName(), status.ImagesPerSecond,
            status.Step, status.Workers, spec.Training.BatchPerWorker, $"{spec.Dataset.Height}x{spec.Dataset.Width}",
            spec.Model.Name, spec.Device, status.ElapsedSeconds)
        {
            Norm = spec.Model.NormFor(spec.Workers),
            ExperimentId = experimentId,
            StartStep = startStep,
            Precision = PrecisionOptions.Name(precision.Precision),
            MemoryFormat = PrecisionOptions.Name(precision.MemoryFormat),
            Seed = spec.Seed,
            Backbone = spec.Model.Backbone,
            LabelsMode = spec.Labels.Mode,
            LabelsFactor = spec.Labels.Factor,
            LossKind = spec.Loss.Kind,
            DecoderTruncation = spec.Model.DecoderTruncation,
        };
    }

    public const string FileName = "result.json";

    /// <summary>Removes an earlier run's result from <paramref name="folder"/> as a run starts there (the default --out is
    /// shared by every run): a run that then fails or is cancelled leaves none, not one that looks like its own.</summary>
    /// <returns>False, the problem written to stderr, when it is there and cannot be removed (a folder of that name, no rights).</returns>
    public static bool RemoveEarlier(DirectoryInfo folder)
    {
        var path = Path.Combine(folder.FullName, FileName);
        try
        {
            if (Directory.Exists(path)) throw new IOException("it is a folder");
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: --out '{folder.FullName}': an earlier {FileName} there cannot be replaced ({e.Message}); choose another folder.");
            return false;
        }
    }

    public async Task<string> WriteAsync(DirectoryInfo folder, CancellationToken cancellationToken)
    {
        folder.Create();
        var path = Path.Combine(folder.FullName, FileName);
        await OutputFolder.WriteAtomicallyAsync(path, JsonSerializer.Serialize(this, Json), cancellationToken);
        return path;
    }
}
