using SegCluster.Abstractions.Specs;
using SegCluster.Vision.Data.Files;

namespace SegCluster.Cluster.Data;

/// <summary>
/// Validates a spec and, for a dataset on disk, fills in what the files decide: the class count and the sample
/// counts of the train and validation splits. Problems with the dataset become spec errors naming dataset.path.
/// </summary>
public static class DatasetSpecResolver
{
    public static (ExperimentSpec Spec, List<string> Errors) ValidateAndResolve(ExperimentSpec spec)
    {
        var errors = spec.Validate().ToList();
        if (errors.Count > 0 || spec.Dataset.Kind != DatasetSpec.Files) return (spec, errors);
        try
        {
            var d = spec.Dataset;
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
            return (spec, [$"dataset.path: {e.Message}"]);
        }
    }
}
