using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Files;

namespace SegCluster.Cluster.Evaluation;

/// <summary>
/// The split an evaluation reads: a dataset on disk, or "synthetic": the built-in generator under the checkpoint's own
/// spec (classes, size, seed), so a quickstart checkpoint is evaluated with no data folder. Its "val" split is the
/// held-out validation seed training never saw; "train" is the training split.
/// </summary>
public static class EvaluationDatasets
{
    public const string Validation = "val";
    public const string Train = "train";

    public static bool IsSynthetic(string datasetPath) => datasetPath == DatasetSpec.Synthetic;

    /// <exception cref="ArgumentException">An unknown synthetic split, "synthetic" for a checkpoint trained on files, or a class
    /// count that differs from the checkpoint's (named).</exception>
    /// <exception cref="DatasetFileException">A dataset file is missing or undecodable (named).</exception>
    public static ISegmentationDataset Open(CheckpointModel checkpoint, string datasetPath, string format, string split)
    {
        // The generator would follow the files run's spec (its class count, its split sizes) and score nonsense.
        if (IsSynthetic(datasetPath) && checkpoint.Spec.Dataset.Kind != DatasetSpec.Synthetic)
            throw new ArgumentException($"--dataset synthetic: checkpoint '{checkpoint.Path}' was trained on the dataset at " +
                $"'{checkpoint.Spec.Dataset.Path}', not on the built-in synthetic one; evaluate it with --dataset {checkpoint.Spec.Dataset.Path}.");
        ISegmentationDataset dataset = IsSynthetic(datasetPath)
            ? new SyntheticSceneDataset(split switch
            {
                Validation => SpecMapping.ValidationData(checkpoint.Spec),
                Train => SpecMapping.TrainData(checkpoint.Spec),
                _ => throw new ArgumentException($"--split '{split}' does not exist in the synthetic dataset; valid: {Validation}, {Train}."),
            })
            : new FileSegmentationDataset(DatasetLayoutDetector.Open(datasetPath, format), split);
        checkpoint.CheckClasses(datasetPath, dataset.NumClasses);
        return dataset;
    }
}
