using SegCluster.Abstractions.Specs;
using SegCluster.Vision.Data;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Training;

/// <summary>Translates the wire spec (Abstractions) into Vision's option types.</summary>
public static class SpecMapping
{
    /// <summary>The validation split is the same generator under another seed: never seen in training.</summary>
    public const int ValidationSeedOffset = 1_000_003;

    public static SyntheticSceneOptions TrainData(ExperimentSpec spec) =>
        new(spec.Dataset.NumClasses, spec.Dataset.Height, spec.Dataset.Width, spec.Dataset.TrainCount, spec.Seed);

    public static SyntheticSceneOptions ValidationData(ExperimentSpec spec) =>
        new(spec.Dataset.NumClasses, spec.Dataset.Height, spec.Dataset.Width, spec.Dataset.ValidationCount, spec.Seed + ValidationSeedOffset);

    /// <summary>The network; its decoder stops at the label grid of training (PAPERS.md §2, memory saved).</summary>
    public static ModelOptions Model(ExperimentSpec spec) =>
        new(spec.Model.Name, spec.Dataset.NumClasses, spec.Model.Width, Norm(spec.Model.Norm))
        {
            LogitFactor = spec.Labels.Factor,
            DecoderTruncation = spec.Model.DecoderTruncation,
        };

    public static LossOptions Loss(ExperimentSpec spec) => new(spec.Training.AuxiliaryWeight, Labels: Labels(spec));

    /// <summary>The final-loss label grid (PAPERS.md §2, §3); spec.labels.mode is validated up front.</summary>
    public static LabelOptions Labels(ExperimentSpec spec) => new(spec.Labels.Mode switch
    {
        LabelsSpec.Full => LabelMode.Full,
        LabelsSpec.Nearest => LabelMode.Nearest,
        LabelsSpec.SoftCe => LabelMode.SoftCrossEntropy,
        LabelsSpec.SoftKl => LabelMode.SoftKl,
        LabelsSpec.Block => LabelMode.Block,
        LabelsSpec.Scribble => LabelMode.Scribble,
        _ => throw new ArgumentException($"labels.mode: '{spec.Labels.Mode}' is unknown; use one of {string.Join(", ", LabelsSpec.Modes)}."),
    }, spec.Labels.Factor, spec.Labels.BlockMinPurity);

    public static OptimizerOptions Optimizer(ExperimentSpec spec) =>
        new(spec.Training.LearningRate, spec.Training.Momentum, spec.Training.WeightDecay);

    private static NormKind Norm(string norm) => norm switch
    {
        "bn" => NormKind.BatchNorm,
        "gn" => NormKind.GroupNorm,
        "none" => NormKind.None,
        _ => throw new ArgumentException($"model.norm: '{norm}' is unknown; use 'bn', 'gn' or 'none'."),
    };
}
