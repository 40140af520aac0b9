namespace SegCluster.Abstractions.Specs;

/// <summary>Up-front checks of an <see cref="ExperimentSpec"/>: every message names the field and the fix.</summary>
public static class SpecValidation
{
    /// <summary>The default network's output stride: image sides must be multiples of it (of
    /// <see cref="ModelCatalog.InputStride"/> for other backbones).</summary>
    public const int OutputStride = 16;
    public const int MaxWorkers = 1024;
    /// <summary>Bounds the global batch (MaxWorkers × this fits an int with room to spare).</summary>
    public const int MaxBatchPerWorker = 65_536;

    public static IReadOnlyList<string> Validate(ExperimentSpec spec)
    {
        // Spec files refuse null sections when read; a spec built in code or posted to the HTTP API may still hold them.
        (string Field, object? Value)[] required =
            [("name", spec.Name), ("dataset", spec.Dataset), ("model", spec.Model), ("training", spec.Training),
             ("device", spec.Device), ("labels", spec.Labels), ("loss", spec.Loss)];
        var missing = required.Where(r => r.Value is null).Select(r => $"{r.Field}: null is not allowed; leave it out for the defaults.").ToList();
        if (missing.Count > 0) return missing;

        var errors = new List<string>();
        void Check(bool ok, string message) { if (!ok) errors.Add(message); }

        Check(spec.Workers is >= 1 and <= MaxWorkers, $"workers: {spec.Workers} is not a valid worker count; use 1 to {MaxWorkers}.");
        Check(IsDevice(spec.Device), $"device: '{spec.Device}' is not a device; use 'cpu' or 'cuda:N'.");

        var d = spec.Dataset;
        Check(DatasetSpec.Kinds.Contains(d.Kind), $"dataset.kind: '{d.Kind}' is not supported; use one of {string.Join(", ", DatasetSpec.Kinds)}.");
        if (d.Kind == DatasetSpec.Files)
            ValidateFiles(d, Check);
        else
            Check(d.NumClasses is >= 2 and <= 32, $"dataset.num_classes: {d.NumClasses} is out of range; use 2 to 32.");
        int stride = ModelCatalog.InputStride(spec.Model);
        CheckSide("height", d.Height);
        CheckSide("width", d.Width);
        Check(d.TrainCount >= 1, $"dataset.train_count: {d.TrainCount} must be at least 1.");
        Check(d.ValidationCount >= 1, $"dataset.validation_count: {d.ValidationCount} must be at least 1.");

        Check(ModelCatalog.Models.Contains(spec.Model.Name), $"model.name: '{spec.Model.Name}' is unknown; use one of {string.Join(", ", ModelCatalog.Models)}.");
        Check(spec.Model.Width is >= 4 and <= 512, $"model.width: {spec.Model.Width} is out of range; use 4 to 512.");
        Check(spec.Model.Norm is null || ModelSpec.Norms.Contains(spec.Model.Norm), $"model.norm: '{spec.Model.Norm}' is unknown; use one of {string.Join(", ", ModelSpec.Norms)} (or leave it out: syncbn for more than one worker, else bn).");

        errors.AddRange(ModelAndLossValidation.Validate(spec));
        Check(spec.Model.DecoderTruncation is > 0 and <= 1,
            $"model.decoder_truncation: {spec.Model.DecoderTruncation} is out of range; use a ratio in (0, 1], e.g. 1 (off), 0.5 or 0.25.");

        var t = spec.Training;
        Check(t.Epochs is null ? t.Steps >= 1 : t.Epochs >= 1,
            t.Epochs is null ? $"training.steps: {t.Steps} must be at least 1." : $"training.epochs: {t.Epochs} must be at least 1.");
        Check(BatchValid(t), $"training.batch_per_worker: {t.BatchPerWorker} is out of range; use 1 to {MaxBatchPerWorker}.");
        // A check that compares two fields runs only when the one it compares with is valid: a refused learning_rate is the
        // one problem, not also every field measured against it (min_learning_rate; the batch for accumulation_steps, the
        // factor for labels.mode; model.name for its backbone and head in ModelAndLossValidation).
        var learningRateValid = t.LearningRate > 0 && double.IsFinite(t.LearningRate);
        Check(learningRateValid, $"training.learning_rate: {t.LearningRate} must be a positive number.");
        Check(t.Momentum is >= 0 and < 1, $"training.momentum: {t.Momentum} must be in [0, 1).");
        Check(t.WeightDecay >= 0 && double.IsFinite(t.WeightDecay), $"training.weight_decay: {t.WeightDecay} must be a finite number, 0 or more.");
        Check(t.AuxiliaryWeight >= 0 && double.IsFinite(t.AuxiliaryWeight), $"training.auxiliary_weight: {t.AuxiliaryWeight} must be a finite number, 0 or more.");
        Check(t.FinalWeight > 0 && double.IsFinite(t.FinalWeight), $"training.final_weight: {t.FinalWeight} must be a positive finite number (the final prediction is the one evaluated; PAPERS.md §1: 1).");
        Check(t.EvaluationBatch >= 1, $"training.evaluation_batch: {t.EvaluationBatch} must be at least 1.");
        Check(t.Optimizer is "sgd" or "adamw", $"training.optimizer: '{t.Optimizer}' is unknown; use 'sgd' or 'adamw'.");
        Check(t.LrPolicy is "poly" or "constant", $"training.lr_policy: '{t.LrPolicy}' is unknown; use 'poly' or 'constant'.");
        Check(t.PolyPower > 0 && double.IsFinite(t.PolyPower), $"training.poly_power: {t.PolyPower} must be a positive number.");
        Check(t.MinLearningRate >= 0 && (!learningRateValid || t.MinLearningRate <= t.LearningRate), $"training.min_learning_rate: {t.MinLearningRate} must be in [0, learning_rate].");
        Check(t.WarmupSteps >= 0, $"training.warmup_steps: {t.WarmupSteps} must be non-negative.");
        Check(t.WarmupRatio is > 0 and <= 1, $"training.warmup_ratio: {t.WarmupRatio} must be in (0, 1].");
        Check(t.MaxGradNorm is null or > 0, $"training.max_grad_norm: {t.MaxGradNorm} must be positive (or absent for no clipping).");
        Check(t.AccumulationSteps >= 1 && (!BatchValid(t) || t.BatchPerWorker % t.AccumulationSteps == 0),
            $"training.accumulation_steps: {t.AccumulationSteps} must be at least 1 and divide training.batch_per_worker ({t.BatchPerWorker}).");
        Check(t.Precision is null || TrainingSpec.Precisions.Contains(t.Precision),
            $"training.precision: '{t.Precision}' is unknown; use one of {string.Join(", ", TrainingSpec.Precisions)} (or leave it out for the device's default).");
        Check(t.MemoryFormat is null || TrainingSpec.MemoryFormats.Contains(t.MemoryFormat),
            $"training.memory_format: '{t.MemoryFormat}' is unknown; use one of {string.Join(", ", TrainingSpec.MemoryFormats)} (or leave it out for the device's default).");
        Check(t.Wire is null || TrainingSpec.Wires.Contains(t.Wire),
            $"training.wire: '{t.Wire}' is unknown; use one of {string.Join(", ", TrainingSpec.Wires)} (or leave it out for the nodes' Collectives:Wire).");
        Check(double.IsFinite(t.BucketCapMb) && t.BucketCapMb >= 0,
            $"training.bucket_cap_mb: {t.BucketCapMb} must be a finite number of megabytes, 0 or more (0: one all-reduce after backward, no overlap).");
        Check(t.CheckpointEvery >= 0, $"training.checkpoint_every: {t.CheckpointEvery} must be 0 (no checkpoints) or a positive number of steps.");
        Check(t.MaxKeepCheckpoints >= 0, $"training.max_keep_checkpoints: {t.MaxKeepCheckpoints} must be 0 (keep every checkpoint) or a positive count.");
        Check(t.ValidateEvery >= 0, $"training.validate_every: {t.ValidateEvery} must be 0 (final evaluation only) or a positive number of steps.");
        Check(t.ValidateGrowth >= 1, $"training.validate_growth: {t.ValidateGrowth} must be 1 (every validate_every steps) or a factor of at least 2 (validate_every·g^k).");
        Check(TrainingSpec.BestMetrics.Contains(t.BestMetric),
            $"training.best_metric: '{t.BestMetric}' is unknown; use one of {string.Join(", ", TrainingSpec.BestMetrics)}.");
        Check(t.ResumeFrom is null || t.LoadFrom is null,
            "training.resume_from and training.load_from: set one, not both; resume_from continues a run (weights, optimiser, step), load_from starts a new one from its weights.");
        Check(t.ResumeFrom is null || t.ResumeFrom.Trim().Length > 0, "training.resume_from: empty; give a checkpoint path or leave the field out.");
        Check(t.LoadFrom is null || t.LoadFrom.Trim().Length > 0, "training.load_from: empty; give a checkpoint path or leave the field out.");
        var l = spec.Labels;
        Check(LabelsSpec.Modes.Contains(l.Mode), $"labels.mode: '{l.Mode}' is unknown; use one of {string.Join(", ", LabelsSpec.Modes)}.");
        var factorValid = l.Factor is 1 or 2 or 4 or 8 or 16;
        Check(factorValid, $"labels.factor: {l.Factor} is not supported; use 1, 2, 4, 8 or 16 (it must divide the image sides).");
        Check(!LabelsSpec.FullGridModes.Contains(l.Mode) || !factorValid || l.Factor == 1,
            $"labels.factor: {l.Factor} needs a down-sampling mode ('{l.Mode}' trains at full resolution); set labels.mode to one of {string.Join(", ", LabelsSpec.Modes.Except(LabelsSpec.FullGridModes))}, or labels.factor to 1.");
        Check(l.BlockMinPurity is >= 0 and <= 1, $"labels.block_min_purity: {l.BlockMinPurity} must be in [0, 1].");
        Check(!l.Renormalize || LabelsSpec.SoftModes.Contains(l.Mode),
            $"labels.renormalize: true applies to soft labels only ('{l.Mode}' has none); set labels.mode to {string.Join(" or ", LabelsSpec.SoftModes)}, or leave renormalize out.");
        Check(!l.DownsampleInput || !factorValid || l.Factor > 1,
            $"labels.downsample_input: true trains on the image down-sampled by labels.factor, which is 1; set labels.factor to 2, 4, 8 or 16 (with a down-sampling labels.mode), or leave downsample_input out.");
        if (l.DownsampleInput && factorValid && l.Factor > 1)
        {
            int inputStride = stride * l.Factor;  // the network sees H/f × W/f, which must be a multiple of its output stride
            Check(d.Height % inputStride == 0 && d.Width % inputStride == 0,
                $"labels.downsample_input: the network would see {d.Height / (double)l.Factor}x{d.Width / (double)l.Factor} (dataset {d.Height}x{d.Width} / labels.factor {l.Factor}), " +
                $"not a multiple of the model's output stride {stride}; use dataset.height and dataset.width that are multiples of {inputStride} " +
                $"(nearest: {DatasetSpec.NearestSide(d.Height, inputStride)}x{DatasetSpec.NearestSide(d.Width, inputStride)}), or a smaller labels.factor.");
        }
        if (errors.Count == 0)
            Check(d.TrainCount >= (long)spec.Workers * t.BatchPerWorker,
                $"dataset.train_count: {d.TrainCount} samples cannot fill one global batch of {spec.Workers} workers × {t.BatchPerWorker}; raise train_count or lower the batch.");
        return errors;

        void CheckSide(string name, int side)
        {
            Check(side >= stride && side % stride == 0 && side <= DatasetSpec.MaxSide,
                $"dataset.{name}: {side} is not a valid image side; it must be a multiple of {stride} (the model's output stride) between {stride} and {DatasetSpec.MaxSide} (nearest: {DatasetSpec.NearestSide(side, stride)}).");
        }
    }

    /// <summary>Kind "files": the path, format, splits and augmentation ranges (class and sample counts come from disk,
    /// where the dataset is resolved).</summary>
    private static void ValidateFiles(DatasetSpec d, Action<bool, string> check)
    {
        // Text only: whether the folder exists is for the node that reads it (DatasetSpecResolver), not the submitting client.
        check(!string.IsNullOrWhiteSpace(d.Path), "dataset.path: empty; point it at the dataset's root (see `segcluster dataset inspect PATH`).");
        check(d.Path is null || !d.Path.Contains('|', StringComparison.Ordinal), $"dataset.path: '{d.Path}' contains '|', which shard keys reserve; move or link the dataset.");
        check(DatasetSpec.Formats.Contains(d.Format), $"dataset.format: '{d.Format}' is unknown; use one of {string.Join(", ", DatasetSpec.Formats)}.");
        check(!string.IsNullOrWhiteSpace(d.TrainSplit) && !string.IsNullOrWhiteSpace(d.ValidationSplit), "dataset.train_split / validation_split: empty; name a split, e.g. train and val.");
        check(d.NumClasses is >= 2 and <= 255, $"dataset.num_classes: {d.NumClasses} is out of range; a dataset on disk has 2 to 255 classes.");
        check(d.MinScale > 0 && d.MaxScale >= d.MinScale && d.MaxScale <= 8, $"dataset.min_scale / max_scale: [{d.MinScale}, {d.MaxScale}] is invalid; use 0 < min_scale <= max_scale <= 8 (e.g. 0.5 and 2).");
        check(d.FlipProbability is >= 0 and <= 1, $"dataset.flip_probability: {d.FlipProbability} must be in [0, 1].");
        check(d.ColorJitter is >= 0 and < 1, $"dataset.color_jitter: {d.ColorJitter} must be in [0, 1).");
        check(d.MaxInvalidFraction is >= 0 and <= 1, $"dataset.max_invalid_fraction: {d.MaxInvalidFraction} must be in [0, 1].");
    }

    private static bool BatchValid(TrainingSpec t) => t.BatchPerWorker is >= 1 and <= MaxBatchPerWorker;

    public static bool IsDevice(string device) =>
        device == "cpu" || device == "cuda" ||
        (device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), out var n) && n >= 0);
}
