using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Evaluation;

/// <summary>A trained network rebuilt from a checkpoint alone: the spec recorded in its metadata builds the model
/// (as training did), the weights are loaded into it, and it is left in eval mode for inference.</summary>
public sealed class CheckpointModel : IDisposable
{
    private CheckpointModel(string path, ExperimentSpec spec, CheckpointMetadata metadata, SegmentationModel model) =>
        (Path, Spec, Metadata, Model) = (path, spec, metadata, model);

    public string Path { get; }
    public ExperimentSpec Spec { get; }
    public CheckpointMetadata Metadata { get; }
    public SegmentationModel Model { get; }

    /// <summary>Class names in train-id order (recorded ones, else "class i").</summary>
    public IReadOnlyList<string> ClassNames => Metadata.ClassNames.Count == Model.NumClasses
        ? Metadata.ClassNames
        : Enumerable.Range(0, Model.NumClasses).Select(i => $"class {i}").ToList();

    /// <exception cref="InvalidDataException">Not a checkpoint, one without a recorded spec (version 1), or one whose spec this
    /// build cannot read (written by another SegCluster version: a field it does not know).</exception>
    /// <exception cref="ArgumentException">The recorded spec does not build a model its weights fit (named parameter).</exception>
    public static CheckpointModel Load(string path)
    {
        var metadata = CheckpointStore.ReadMetadata(path);
        if (metadata.Spec is null)
            throw new InvalidDataException($"checkpoint '{path}' records no experiment spec, so its network cannot be rebuilt; use a checkpoint written by `segcluster train`.");
        ExperimentSpec spec;
        try
        {
            spec = SpecFiles.ParseRecorded<ExperimentSpec>(metadata.Spec, path);
        }
        catch (SpecFileException e)
        {
            throw new InvalidDataException(
                $"checkpoint '{path}' was written by an incompatible SegCluster version: its recorded spec does not load here " +
                $"({string.Join("; ", e.Errors)}); use the SegCluster version that trained it.", e);
        }
        var model = SpecMapping.BuildModelForWeights(spec);  // the file alone: no backbone file or class frequencies needed
        try
        {
            CheckpointStore.LoadWeights(path, model);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return new CheckpointModel(path, spec, metadata, model);
    }

    /// <summary>Refuses a dataset whose class count differs from the checkpoint's classifier, naming both.</summary>
    public void CheckClasses(string datasetPath, int datasetClasses)
    {
        if (datasetClasses != Model.NumClasses)
            throw new ArgumentException($"checkpoint '{Path}' predicts {Model.NumClasses} classes but the dataset at {datasetPath} has {datasetClasses}; " +
                                        "evaluate it on a dataset with the classes it was trained on.");
    }

    public void Dispose() => Model.Dispose();
}
