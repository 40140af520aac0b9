using SegCluster.Abstractions;
using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Evaluation;
using SegCluster.Vision.Data.Files;

namespace SegCluster.Cli.Evaluation;

/// <summary>What `segcluster eval` evaluates: a checkpoint on a split of a dataset on disk (or of the built-in synthetic
/// dataset under the checkpoint's spec), with these inference settings.</summary>
public sealed record EvaluationJob(string CheckpointPath, string DatasetPath, string DatasetFormat, string Split, InferenceSettings Inference)
{
    /// <summary>
    /// Checks everything that can be checked here before any worker starts, each failure naming the file or option:
    /// the checkpoint rebuilds its network, the dataset and split open, the class counts agree, the inference settings
    /// are valid for the network, and the sliding-window crop fits every image of the split.
    /// </summary>
    /// <returns>The split's sample count and the class names (the dataset's).</returns>
    /// <exception cref="InvalidDataException">The checkpoint file is not usable.</exception>
    /// <exception cref="ArgumentException">A mismatch or bad setting (named).</exception>
    /// <exception cref="DatasetFileException">A dataset file is missing or undecodable (named).</exception>
    public (int Count, IReadOnlyList<string> ClassNames) Prepare()
    {
        using var checkpoint = CheckpointModel.Load(CheckpointPath);
        var dataset = EvaluationDatasets.Open(checkpoint, DatasetPath, DatasetFormat, Split);
        var predictor = InferenceMapping.Predictor(checkpoint, Inference);
        for (var i = 0; i < dataset.Count; i++)
        {
            var (image, (height, width)) = dataset is FileSegmentationDataset files
                ? (files.Files(i).ImagePath, ImageDecoder.ReadSize(files.Files(i).ImagePath))
                : ($"synthetic image {i}", (checkpoint.Spec.Dataset.Height, checkpoint.Spec.Dataset.Width));
            try { predictor.CheckFits(height, width); }  // every scale's resized image must hold the crop
            catch (ArgumentException e) { throw new ArgumentException($"{e.UserMessage()} (image {image})", e); }
        }
        return (dataset.Count, dataset.ClassNames);
    }

    /// <summary>The request every worker gets (indices filled per worker); a dataset folder as an absolute path, since
    /// nodes resolve it on their own storage.</summary>
    public EvaluationRequest Request(string evaluationId) =>
        new(evaluationId, Path.GetFullPath(CheckpointPath), EvaluationDatasets.IsSynthetic(DatasetPath) ? DatasetPath : Path.GetFullPath(DatasetPath), Split, [], Inference) { DatasetFormat = DatasetFormat };
}
