using SegCluster.Abstractions.Specs;

namespace SegCluster.Cli.Embedded;

/// <summary>What an embedded run (quickstart, `train` without --cluster) prints about its spec: the data it trains on
/// and the command that evaluates its checkpoint.</summary>
public static class RunSummary
{
    /// <summary>"synthetic 64x64, 6 classes", or a files dataset's folder, format and crop (its class count is read
    /// from the files when the experiment starts, so the spec's is not printed).</summary>
    public static string Dataset(DatasetSpec dataset) => dataset.Kind == DatasetSpec.Files
        ? $"{dataset.Path} ({dataset.Format}), crop {dataset.Height}x{dataset.Width}"
        : $"synthetic {dataset.Height}x{dataset.Width}, {dataset.NumClasses} classes";

    /// <summary>`segcluster eval` of <paramref name="checkpoint"/> on the data the run trained on.</summary>
    public static string EvaluateCommand(ExperimentSpec spec, string checkpoint) =>
        $"segcluster eval --checkpoint {checkpoint} --dataset {(spec.Dataset.Kind == DatasetSpec.Files ? spec.Dataset.Path : DatasetSpec.Synthetic)}";
}
