namespace SegCluster.Abstractions.Specs;

/// <summary>Optimisation budget and hyperparameters (SGD with momentum; PAPERS.md §1 loss weights).</summary>
[GenerateSerializer, Immutable, Alias("SegCluster.TrainingSpec")]
public sealed record TrainingSpec
{
    [Id(0)] public int Steps { get; init; } = 800;
    /// <summary>When set, overrides Steps: this many passes over the train split.</summary>
    [Id(1)] public int? Epochs { get; init; }
    [Id(2)] public int BatchPerWorker { get; init; } = 8;
    [Id(3)] public double LearningRate { get; init; } = 0.05;
    [Id(4)] public double Momentum { get; init; } = 0.9;
    [Id(5)] public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Weight of the intermediate (SPG) prediction losses (PAPERS.md §1: 0.4).</summary>
    [Id(6)] public double AuxiliaryWeight { get; init; } = 0.4;
    /// <summary>Weight of the final prediction's loss (PAPERS.md §1: 1.0).</summary>
    [Id(12)] public double FinalWeight { get; init; } = 1.0;
    /// <summary>Validation batch. Below 16 on purpose: libtorch tries NNPACK for CPU convolutions with
    /// batch ≥ 16 and, on CPUs it does not support, logs a warning per call.</summary>
    [Id(7)] public int EvaluationBatch { get; init; } = 8;
    /// <summary>Write a checkpoint every this many steps (and after the last); 0 = none. A failed ring then
    /// resumes from the last one, so a failure costs at most this many steps.</summary>
    [Id(8)] public int CheckpointEvery { get; init; }
    /// <summary>Checkpoint to continue (mmsegmentation's <c>resume</c>): weights, optimiser state and step; the run goes on
    /// from that step to <see cref="Steps"/> with the schedule and data order of an uninterrupted run. A path on the node.</summary>
    [Id(9)] public string? ResumeFrom { get; init; }
    /// <summary>Checkpoint whose weights start the run (mmsegmentation's <c>load_from</c>, fine-tuning): step 0, a fresh
    /// optimiser; the model section must build the network the file holds, class count included. A path on the node.</summary>
    [Id(10)] public string? LoadFrom { get; init; }
    /// <summary>Step checkpoints kept per experiment, the newest (mmsegmentation's <c>max_keep_ckpts</c>); older ones are deleted
    /// once a newer one is recorded. 0 = keep every one. best.ckpt is kept apart.</summary>
    [Id(11)] public int MaxKeepCheckpoints { get; init; }
    /// <summary>Rank 0 copies a checkpoint's state to host memory within the step and writes the file (and reports it) on a
    /// background thread while training goes on, as torch.distributed.checkpoint.async_save; costs one host copy of the
    /// model and optimiser state. false: written within the step, the other ranks waiting at the next all-reduce.</summary>
    [Id(13)] public bool AsyncCheckpoint { get; init; } = true;

    /// <summary>"sgd" (momentum, L2 decay; the CNN default) or "adamw" (decoupled decay; for ViT backbones).</summary>
    [Id(20)] public string Optimizer { get; init; } = "sgd";
    /// <summary>"poly" (lr·(1 − t/T)^power, mmsegmentation's default) or "constant".</summary>
    [Id(21)] public string LrPolicy { get; init; } = "poly";
    [Id(22)] public double PolyPower { get; init; } = 0.9;
    /// <summary>The rate poly decays to at the last step.</summary>
    [Id(23)] public double MinLearningRate { get; init; }
    /// <summary>Linear warm-up steps (0 = none), starting at WarmupRatio × the scheduled rate.</summary>
    [Id(24)] public int WarmupSteps { get; init; }
    [Id(25)] public double WarmupRatio { get; init; } = 1e-6;
    /// <summary>Clip the global gradient to this L2 norm (clip_grad_norm_); null = no clipping.</summary>
    [Id(26)] public double? MaxGradNorm { get; init; }
    /// <summary>No weight decay on biases and normalisation scales (mmsegmentation's norm/bias_decay_mult 0).</summary>
    [Id(27)] public bool NoDecayOnNormAndBias { get; init; }
    /// <summary>Gradient accumulation: each worker's batch is split into this many micro-batches per optimiser step.</summary>
    [Id(28)] public int AccumulationSteps { get; init; } = 1;

    /// <summary>Validate every this many steps (and after the last); 0 = only the final evaluation. Rank 0 evaluates
    /// the validation split, reports mIoU and per-class IoU, and keeps the best checkpoint by <see cref="BestMetric"/>.</summary>
    [Id(40)] public int ValidateEvery { get; init; }
    /// <summary>"miou" or "pixel_accuracy": what the best checkpoint is chosen by (higher is better).</summary>
    [Id(41)] public string BestMetric { get; init; } = MeanIoUMetric;
    /// <summary>1: validate every <see cref="ValidateEvery"/> steps. g ≥ 2: at ValidateEvery·g^k steps (k = 0, 1, …) and after
    /// the last, a geometric schedule: a sweep's ASHA on a validation metric validates at its rungs (min_budget·η^k) this way.</summary>
    [Id(42)] public int ValidateGrowth { get; init; } = 1;

    /// <summary>Whether the run validates during training (<see cref="ValidateEvery"/>).</summary>
    public bool ValidatesDuringTraining => ValidateEvery > 0;

    /// <summary>Whether a run validating during training validates after optimizer step <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public bool ValidatesAfter(int step, int totalSteps)
    {
        if (!ValidatesDuringTraining) return false;
        if (step == totalSteps) return true;
        if (step % ValidateEvery != 0) return false;
        return ValidateGrowth <= 1 || IsPowerOf(step / ValidateEvery, ValidateGrowth);
    }

    private static bool IsPowerOf(int value, int factor)
    {
        while (value > 1 && value % factor == 0) value /= factor;
        return value == 1;
    }

    public const string MeanIoUMetric = "miou";
    public const string PixelAccuracyMetric = "pixel_accuracy";
    public static IReadOnlyList<string> BestMetrics { get; } = [MeanIoUMetric, PixelAccuracyMetric];

    /// <summary>fp32 | bf16-mixed | fp16-mixed; null: the device's default (CUDA: bf16-mixed from compute capability 8.0, else fp16-mixed; CPU: fp32).</summary>
    [Id(50)] public string? Precision { get; init; }

    /// <summary>contiguous | channels_last; null: the device's default (CUDA: channels_last; CPU: contiguous).</summary>
    [Id(51)] public string? MemoryFormat { get; init; }

    /// <summary>Element format of the gradient ring between nodes: fp32 | fp16 (half the bytes, sums still in fp32;
    /// TCP transport only); null: the node's Collectives:Wire. Every rank gets the same spec, so a ring agrees.</summary>
    [Id(60)] public string? Wire { get; init; }

    /// <summary>With more than one worker the gradient is all-reduced in buckets of about this many MB, each as soon as
    /// backward has produced it, overlapped with the rest of backward (PyTorch DDP's bucket_cap_mb); 0: one all-reduce of
    /// the whole gradient after backward. The sums are the same either way.</summary>
    [Id(61)] public double BucketCapMb { get; init; } = 25;

    /// <summary>Valid <see cref="Wire"/> names.</summary>
    public static readonly IReadOnlyList<string> Wires = ["fp32", "fp16"];

    /// <summary>Valid <see cref="Precision"/> names.</summary>
    public static readonly IReadOnlyList<string> Precisions = ["fp32", "bf16-mixed", "fp16-mixed"];

    /// <summary>Valid <see cref="MemoryFormat"/> names.</summary>
    public static readonly IReadOnlyList<string> MemoryFormats = ["contiguous", "channels_last"];
}
