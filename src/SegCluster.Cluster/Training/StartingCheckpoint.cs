using System.Text.Json.Nodes;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Training;

/// <summary>
/// Checks training.resume_from and training.load_from of a validated, dataset-resolved spec where the run starts (the
/// CLI for an embedded run, the node on submit, as dataset.path), so a wrong file is an error before any rank trains
/// rather than a failure of every rank and, for a scheduled run, of every re-formation. The file is loaded as the ranks
/// will load it, into a CPU copy of the spec's network (and, to resume, its optimiser), so check and load cannot disagree.
/// </summary>
public static class StartingCheckpoint
{
    private const string Resume = "training.resume_from", Load = "training.load_from";

    /// <summary>The checkpoint the first formation resumes from (its step read from the file), every problem found, a
    /// note when the run resumes with another data order (<see cref="DataOrderNote"/>), and the best the run starts with
    /// (<see cref="PeriodicValidation.ResumedBest(ExperimentSpec, CheckpointMetadata?)"/>) from the same header the checks
    /// read; null and no errors when the spec names neither field.</summary>
    public static (CheckpointRecord? ResumeFrom, List<string> Errors, string? Note, BestValidation? ResumedBest) Resolve(ExperimentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Training.ResumeFrom is { } resume) return CheckResume(spec, resume);
        return spec.Training.LoadFrom is { } weights ? (null, CheckLoad(spec, weights), null, null) : (null, [], null, null);
    }

    private static (CheckpointRecord?, List<string>, string?, BestValidation?) CheckResume(ExperimentSpec spec, string path)
    {
        // Read once: the refusal, the recorded spec and the best the coordinator reports all come from this header, so its
        // checks and that best are of one file. (Rank 0 reads the best again from the file it loads: after a re-formation
        // that is the run's own latest checkpoint, not this one.)
        var metadata = Metadata(path);
        if (Refusal(spec, path, metadata, Resume) is { } refused) return (null, [refused], null, null);
        var trained = Recorded(metadata, path);
        var differences = trained is not null ? ModelDifferences(trained, spec) : [];
        if (differences.Count > 0)
            return (null, [$"{Resume}: checkpoint '{path}' was trained with another model section ({string.Join("; ", differences)}); " +
                           $"resume with the checkpoint's model section, or start a new run from its weights with {Load}."], null, null);
        long step;
        try
        {
            using var model = SpecMapping.BuildModelForWeights(spec);
            using var trainer = new DataParallelTrainer(model, SpecMapping.Criterion(spec, SpecMapping.ShapeOnlyFrequencies(spec)), SpecMapping.Optimizer(spec), new SingleRankReducer());
            step = CheckpointStore.Load(path, trainer);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException)
        {
            return (null, [$"{Resume}: {e.UserMessage()}"], null, null);
        }
        var budget = spec.Training.Epochs is null ? "training.steps" : "training.epochs";
        if (step >= spec.TotalSteps)
            return (null, [$"{Resume}: checkpoint '{path}' is already at step {step} of {spec.TotalSteps}: raise {budget} to train further."], null, null);
        return (new CheckpointRecord((int)step, path), [], trained is null ? null : DataOrderNote(trained, spec, path, step),
            PeriodicValidation.ResumedBest(spec, metadata));
    }

    /// <summary>
    /// A resume with other workers, batch_per_worker, seed or train_count is allowed (a run moved to fewer GPUs), but its
    /// data order is not the uninterrupted run's: epochs have another length, the resumed epoch's remaining samples are
    /// dealt anew (some seen twice, some skipped), and epoch-driven schedules (§4's drop probability) shift. Null when none differs.
    /// </summary>
    private static string? DataOrderNote(ExperimentSpec trained, ExperimentSpec spec, string path, long step)
    {
        (string Field, object Before, object Now)[] fields =
        [
            ("workers", trained.Workers, spec.Workers),
            ("training.batch_per_worker", trained.Training.BatchPerWorker, spec.Training.BatchPerWorker),
            ("seed", trained.Seed, spec.Seed),
            ("dataset.train_count", trained.Dataset.TrainCount, spec.Dataset.TrainCount),
        ];
        var changed = fields.Where(f => !Equals(f.Before, f.Now)).Select(f => $"{f.Field} {f.Before} → {f.Now}").ToList();
        if (changed.Count == 0) return null;
        var epochs = trained.StepsPerEpoch == spec.StepsPerEpoch ? "" : $"; epochs of {trained.StepsPerEpoch} steps become {spec.StepsPerEpoch}";
        return $"{Resume}: '{path}' was trained with other data settings ({string.Join(", ", changed)}), so from step {step} on " +
               $"the data order is not the uninterrupted run's{epochs}.";
    }

    private static List<string> CheckLoad(ExperimentSpec spec, string path)
    {
        if (Refusal(spec, path, Metadata(path), Load) is { } refused) return [refused];
        try
        {
            using var model = SpecMapping.BuildModelForWeights(spec);
            CheckpointStore.LoadWeights(path, model);
            return [];
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException)
        {
            return [$"{Load}: {e.UserMessage()}"];
        }
    }

    /// <summary>A missing file, or another class count than the spec's (fine-tuning to other classes is not supported:
    /// the classifier would have to be re-initialised, which neither field does).</summary>
    private static string? Refusal(ExperimentSpec spec, string path, CheckpointMetadata? metadata, string field)
    {
        if (!File.Exists(path))
            return $"{field}: '{path}' is not an existing file; point it at a checkpoint (e.g. checkpoints/EXPERIMENT/step-000800.ckpt) on the machine that runs the experiment.";
        if (metadata?.NumClasses is { } classes && classes != spec.Dataset.NumClasses)
            return $"{field}: checkpoint '{path}' predicts {classes} classes but the dataset has {spec.Dataset.NumClasses}; " +
                   "a checkpoint continues or fine-tunes on the same classes only.";
        return null;
    }

    /// <summary>The spec the checkpoint was trained from; null for a file that records none (version 1, or not a checkpoint:
    /// loading it reports that).</summary>
    private static ExperimentSpec? Recorded(CheckpointMetadata? metadata, string path)
    {
        if (metadata?.Spec is not { } json) return null;
        try
        {
            return SpecFiles.ParseRecorded<ExperimentSpec>(json, path);
        }
        catch (SpecFileException)
        {
            return null;
        }
    }

    /// <summary>The checkpoint's header; null for a missing file or one without a readable header (the checks that need
    /// the file report those).</summary>
    private static CheckpointMetadata? Metadata(string path)
    {
        try
        {
            return CheckpointStore.ReadMetadata(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>"model.width: 8 in the checkpoint, 16 here" per field that differs. The norm is compared as each run
    /// resolves it; backbone_weights is left out: it only initialises, and the checkpoint's weights replace it.</summary>
    private static List<string> ModelDifferences(ExperimentSpec trained, ExperimentSpec spec)
    {
        var before = Leaves(SpecFiles.ToTree(Comparable(trained)), "model");
        var now = Leaves(SpecFiles.ToTree(Comparable(spec)), "model");
        return [.. now.Where(f => before.GetValueOrDefault(f.Key) != f.Value)
            .Select(f => $"{f.Key}: {before.GetValueOrDefault(f.Key) ?? "absent"} in the checkpoint, {f.Value} here")];
    }

    private static ModelSpec Comparable(ExperimentSpec spec) => spec.Model with { Norm = spec.Model.NormFor(spec.Workers), BackboneWeights = null };

    private static Dictionary<string, string> Leaves(JsonNode? node, string path) => node is JsonObject fields
        ? fields.SelectMany(f => Leaves(f.Value, $"{path}.{f.Key}")).ToDictionary()
        : new() { [path] = node?.ToJsonString() ?? "null" };
}
