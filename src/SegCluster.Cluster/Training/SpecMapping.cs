using SegCluster.Abstractions.Specs;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Models.Scribbles;
using SegCluster.Vision.Training;
using SegCluster.Vision.Devices;
using SegCluster.Vision.Training.Precision;

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

    /// <summary>The network; its decoder stops at the label grid of training (PAPERS.md §2, memory saved). With
    /// labels.downsample_input the network runs whole at the down-sampled input instead (LogitFactor 1; <see cref="BuildModel"/>
    /// wraps it in <see cref="LowResolutionInputNet"/>).</summary>
    public static ModelOptions Model(ExperimentSpec spec) =>
        new(spec.Model.Name, spec.Dataset.NumClasses, spec.Model.Width, Norm(spec.Model.NormFor(spec.Workers)), spec.Model.Backbone, spec.Model.OutputStride,
            spec.Model.Spg.Supervision, spec.Model.Spg.Sigmoid, spec.Model.Spg.Identity, spec.Model.BackboneWeights)
        {
            LogitFactor = spec.Labels.DownsampleInput ? 1 : spec.Labels.Factor,
            DecoderTruncation = spec.Model.DecoderTruncation,
        };

    /// <summary>The network the spec trains: the registry's model (on the down-sampled image with labels.downsample_input),
    /// wrapped in what loss.kind needs (the class-suppression
    /// branch, PAPERS.md §4; the feature consistency head of the dynamic scribble loss, §5).</summary>
    /// <param name="classFrequencies">Pixel frequencies per class; needed by inverse-frequency class suppression only.</param>
    /// <remarks>
    /// Initialised from spec.seed, under a process-wide lock: torch's default generator is global, and the workers of
    /// one process build their models at the same time, so unsynchronised draws interleaved and rank 0's initial
    /// weights (broadcast to the others) depended on thread timing. Every rank now starts from the same weights.
    /// </remarks>
    public static SegmentationModel BuildModel(ExperimentSpec spec, IReadOnlyList<double>? classFrequencies = null) => Seeded(spec.Seed, () =>
    {
        var model = ModelRegistry.Create(Model(spec));
        if (spec.Labels.DownsampleInput) model = new LowResolutionInputNet(model, spec.Labels.Factor);  // PAPERS.md §3: trained on the H/f × W/f image
        return spec.Loss.Kind switch
        {
            LossSpec.ClassSuppressionKind => new ClassSuppressionNet(model, ClassSuppression(spec, classFrequencies)),
            LossSpec.ScribbleRegularizedKind when spec.Loss.Scribble.Dynamic => new FeatureConsistencyNet(model, spec.Loss.Scribble.EmbeddingChannels),
            _ => model,
        };
    });

    /// <summary>The spec's network to load a checkpoint's weights into (resume, fine-tune, eval, predict): without the
    /// encoder's pretrained file, which the checkpoint's weights replace and which may not be on this machine. A truncation
    /// ratio on a model that takes none (a vit checkpoint written before that was refused, where it did nothing) builds the
    /// network it trained: truncation has no parameters.</summary>
    public static SegmentationModel BuildModelForWeights(ExperimentSpec spec) =>
        BuildModel(spec with
        {
            Model = spec.Model with
            {
                BackboneWeights = null,
                DecoderTruncation = ModelCatalog.TruncatingModels.Contains(spec.Model.Name) ? spec.Model.DecoderTruncation : 1,
            },
        }, ShapeOnlyFrequencies(spec));

    /// <summary>Inverse-frequency class suppression needs class frequencies to build; they weight the loss, not shapes,
    /// so uniform ones build the same network.</summary>
    public static IReadOnlyList<double>? ShapeOnlyFrequencies(ExperimentSpec spec) =>
        spec.Loss.ClassSuppression.Sampling == ClassSuppressionSpec.InverseFrequency
            ? [.. Enumerable.Repeat(1.0 / spec.Dataset.NumClasses, spec.Dataset.NumClasses)]
            : null;

    /// <summary>Runs <paramref name="build"/> with torch's global generator seeded, under the same process-wide lock as
    /// <see cref="BuildModel"/>, so seeded builds elsewhere in the process (tests) do not interleave with a worker's.</summary>
    public static T Seeded<T>(long seed, Func<T> build) => GlobalGenerator.Seeded(seed, build);

    /// <summary>The criterion of loss.kind; pass the same <paramref name="classFrequencies"/> as to <see cref="BuildModel"/>.</summary>
    public static ISegmentationCriterion Criterion(ExperimentSpec spec, IReadOnlyList<double>? classFrequencies = null) => spec.Loss.Kind switch
    {
        LossSpec.CrossEntropyKind => new SegmentationCriterion(Loss(spec)),
        LossSpec.ClassSuppressionKind => new ClassSuppressionCriterion(Loss(spec), ClassSuppression(spec, classFrequencies)),
        LossSpec.ScribbleRegularizedKind => new ScribbleRegularizedCriterion(Loss(spec), Scribble(spec)),
        _ => throw new ArgumentException($"loss.kind: '{spec.Loss.Kind}' is unknown; use one of {string.Join(", ", LossSpec.Kinds)}."),
    };

    /// <summary>PAPERS.md §4 settings; E_end and E default to the run's length in epochs (the authors' E_end = E).</summary>
    public static ClassSuppressionOptions ClassSuppression(ExperimentSpec spec, IReadOnlyList<double>? classFrequencies)
    {
        var c = spec.Loss.ClassSuppression;
        double runEpochs = spec.TotalSteps / (double)spec.StepsPerEpoch;
        var frequencies = c.Sampling == ClassSuppressionSpec.InverseFrequency
            ? classFrequencies ?? throw new ArgumentException("loss.class_suppression.sampling: 'inverse-frequency' needs the train split's class frequencies.")
            : null;
        return new ClassSuppressionOptions(c.EndEpoch ?? runEpochs, c.TotalEpochs ?? runEpochs, c.SuppressionWeight, frequencies, spec.Seed, c.FrequencyPrior);
    }

    /// <summary>
    /// The scribbles the training source draws from the full masks (PAPERS.md §5): for labels.mode scribble, and for
    /// loss.kind scribble-regularized unless loss.scribble.synthesize_scribbles is false (a dataset with scribbles of
    /// its own); null when the training labels are used as they are. Validation always sees the full masks.
    /// </summary>
    public static ScribbleSynthesizer? TrainingScribbles(ExperimentSpec spec) =>
        DrawsTrainingScribbles(spec) ? new ScribbleSynthesizer(spec.Dataset.NumClasses, spec.Seed) : null;

    /// <summary>
    /// The weak annotation a file dataset's training source makes from each full mask before augmentation: the scribbles of
    /// <see cref="TrainingScribbles"/>, or for labels.mode block the b×b blocks (PAPERS.md §2: the criterion annotating the
    /// augmented crops moved the block grid against the image every epoch); null when the training labels are the masks.
    /// Synthetic scenes are not augmented, so the criterion's own annotation of them is already fixed.
    /// </summary>
    public static IWeakAnnotation? TrainingAnnotation(ExperimentSpec spec) =>
        TrainingScribbles(spec) is { } scribbles ? new DrawnScribbles(scribbles)
        : spec.Labels.Mode == LabelsSpec.Block ? new PaintedBlocks(new BlockAnnotator(spec.Dataset.NumClasses, spec.Labels.Factor, spec.Labels.BlockMinPurity))
        : null;

    /// <summary>Whether the training labels are scribbles, sparse strokes on ignore: drawn here from the full masks, or a
    /// dataset's own scribble split (VOC's train_scribble). Not a scribble loss on dense masks, whose ignore borders must
    /// stay as they are.</summary>
    public static bool TrainsOnScribbles(ExperimentSpec spec) =>
        DrawsTrainingScribbles(spec) || spec.Dataset.Kind == DatasetSpec.Files && spec.Dataset.TrainSplit == VocReader.ScribbleSplit;

    /// <summary>Whether <see cref="TrainingScribbles"/> draws scribbles for this spec.</summary>
    public static bool DrawsTrainingScribbles(ExperimentSpec spec) =>
        spec.Labels.Mode == LabelsSpec.Scribble || spec.Loss.Kind == LossSpec.ScribbleRegularizedKind && spec.Loss.Scribble.SynthesizeScribbles;

    /// <summary>PAPERS.md §5 settings.</summary>
    public static ScribbleLossOptions Scribble(ExperimentSpec spec)
    {
        var s = spec.Loss.Scribble;
        return new ScribbleLossOptions(s.Lambda, s.SigmaRgb, s.SigmaXy, s.SigmaFeature, s.Scale, s.MaxGridSide, s.RgbPerUnit,
            DeepKernel: s.Dynamic, ConsistencyWeight: s.ConsistencyWeight, WarmupSteps: s.WarmupSteps);
    }

    public static LossOptions Loss(ExperimentSpec spec) => new(spec.Training.AuxiliaryWeight, Labels: Labels(spec), FinalWeight: spec.Training.FinalWeight);

    /// <summary>The final-loss label grid (PAPERS.md §2, §3); spec.labels.mode is validated up front. Full labels that are
    /// scribbles (a scribble loss, which forces labels.mode full, or VOC's train_scribble) train as labels.mode scribble: the
    /// same final term, and SPG auxiliaries on the majority of each cell's strokes (nearest kept 1/s² of them).</summary>
    public static LabelOptions Labels(ExperimentSpec spec) => new(spec.Labels.Mode switch
    {
        LabelsSpec.Full => TrainsOnScribbles(spec) ? LabelMode.Scribble : LabelMode.Full,
        LabelsSpec.Nearest => LabelMode.Nearest,
        LabelsSpec.Majority => LabelMode.Majority,
        LabelsSpec.SoftCe => LabelMode.SoftCrossEntropy,
        LabelsSpec.SoftKl => LabelMode.SoftKl,
        LabelsSpec.Block => LabelMode.Block,
        LabelsSpec.Scribble => LabelMode.Scribble,
        _ => throw new ArgumentException($"labels.mode: '{spec.Labels.Mode}' is unknown; use one of {string.Join(", ", LabelsSpec.Modes)}."),
    }, spec.Labels.Factor, spec.Labels.BlockMinPurity, spec.Labels.Renormalize);

    public static OptimizerOptions Optimizer(ExperimentSpec spec)
    {
        var t = spec.Training;
        return new OptimizerOptions(t.LearningRate, t.Momentum, t.WeightDecay, t.Optimizer,
            new LearningRateSchedule(t.LrPolicy, t.PolyPower, t.MinLearningRate, t.WarmupSteps, t.WarmupRatio),
            spec.TotalSteps, t.MaxGradNorm, t.NoDecayOnNormAndBias, t.AccumulationSteps);
    }

    /// <summary>
    /// training.precision and training.memory_format, each falling back to the device's default
    /// (<see cref="PrecisionOptions.DefaultFor"/>; the GPU's compute capability from NVML).
    /// </summary>
    public static PrecisionOptions Precision(ExperimentSpec spec, TorchSharp.torch.Device device)
    {
        bool cuda = device.type == TorchSharp.DeviceType.CUDA;
        var defaults = PrecisionOptions.DefaultFor(cuda, cuda ? NvmlDeviceMemory.ComputeCapabilityMajor(device.index < 0 ? 0 : device.index) : null);
        var t = spec.Training;
        return new PrecisionOptions(
            t.Precision switch
            {
                null => defaults.Precision,
                "fp32" => PrecisionMode.Fp32,
                "bf16-mixed" => PrecisionMode.Bf16Mixed,
                "fp16-mixed" => PrecisionMode.Fp16Mixed,
                _ => throw new ArgumentException($"training.precision: '{t.Precision}' is unknown; use one of {string.Join(", ", TrainingSpec.Precisions)}."),
            },
            t.MemoryFormat switch
            {
                null => defaults.MemoryFormat,
                "contiguous" => MemoryFormat.Contiguous,
                "channels_last" => MemoryFormat.ChannelsLast,
                _ => throw new ArgumentException($"training.memory_format: '{t.MemoryFormat}' is unknown; use one of {string.Join(", ", TrainingSpec.MemoryFormats)}."),
            });
    }

    private static NormKind Norm(string norm) => norm switch
    {
        "bn" => NormKind.BatchNorm,
        "syncbn" => NormKind.SyncBatchNorm,
        "gn" => NormKind.GroupNorm,
        "none" => NormKind.None,
        _ => throw new ArgumentException($"model.norm: '{norm}' is unknown; use one of {string.Join(", ", ModelSpec.Norms)}."),
    };
}
