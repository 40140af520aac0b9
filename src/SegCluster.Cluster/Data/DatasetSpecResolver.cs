using SegCluster.Abstractions;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data.Files;

namespace SegCluster.Cluster.Data;

/// <summary>
/// Validates a spec and, for a dataset on disk, fills in what the files decide: the class count and the sample
/// counts of the train and validation splits. Problems with the dataset (a missing folder included) become spec errors
/// naming dataset.path. Runs where the dataset is read: on the node, and up front for a local run.
/// </summary>
public static class DatasetSpecResolver
{
    public static (ExperimentSpec Spec, List<string> Errors) ValidateAndResolve(ExperimentSpec spec)
    {
        var errors = spec.Validate().ToList();
        if (errors.Count > 0 || spec.Dataset.Kind != DatasetSpec.Files) return (spec, errors);
        var d = spec.Dataset;
        // Checked here, on the machine that reads the files, not in SpecValidation: a client submitting to a cluster need not have them.
        if (!Directory.Exists(d.Path))
            return (spec, [$"dataset.path: '{d.Path}' is not an existing folder; point it at the dataset's root (see `segcluster dataset inspect PATH`)."]);
        if (d.TrainSplit == VocReader.ScribbleSplit && SpecMapping.DrawsTrainingScribbles(spec))
            return (spec, [ScribblesOfScribbles(spec)]);
        try
        {
            var layout = DatasetLayoutDetector.Open(d.Path!, d.Format);
            var resolved = spec with
            {
                Dataset = d with
                {
                    NumClasses = layout.NumClasses,
                    TrainCount = layout.Split(d.TrainSplit).Count,
                    ValidationCount = layout.Split(d.ValidationSplit).Count,
                },
            };
            return (resolved, resolved.Validate().ToList());
        }
        catch (Exception e) when (e is ArgumentException or IOException or DatasetFileException)
        {
            return (spec, [$"dataset.path: {e.UserMessage()}"]);
        }
    }

    /// <summary>Strokes drawn from strokes would be eroded away (1 pixel wide, margin 2): train on the split's own scribbles.</summary>
    private static string ScribblesOfScribbles(ExperimentSpec spec) =>
        $"dataset.train_split: '{VocReader.ScribbleSplit}' holds ScribbleSup scribbles already, and drawing scribbles from them would erase them; " +
        (spec.Labels.Mode == LabelsSpec.Scribble
            ? $"set labels.mode to '{LabelsSpec.Full}' (the unscribbled pixels are ignore, so the CE is partial)."
            : "set loss.scribble.synthesize_scribbles to false to train on them as they are.");
}
