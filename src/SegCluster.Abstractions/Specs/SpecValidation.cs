namespace SegCluster.Abstractions.Specs;

/// <summary>Up-front checks of an <see cref="ExperimentSpec"/>: every message names the field and the fix.</summary>
public static class SpecValidation
{
    /// <summary>The network's output stride: image sides must be multiples of it.</summary>
    public const int OutputStride = 16;
    public const int MaxWorkers = 1024;

    public static IReadOnlyList<string> Validate(ExperimentSpec spec)
    {
        var errors = new List<string>();
        void Check(bool ok, string message) { if (!ok) errors.Add(message); }

        Check(spec.Workers is >= 1 and <= MaxWorkers, $"workers: {spec.Workers} is not a valid worker count; use 1 to {MaxWorkers}.");
        Check(IsDevice(spec.Device), $"device: '{spec.Device}' is not a device; use 'cpu' or 'cuda:N'.");

        var d = spec.Dataset;
        Check(d.Kind == DatasetSpec.Synthetic, $"dataset.kind: '{d.Kind}' is not supported yet; use '{DatasetSpec.Synthetic}'.");
        Check(d.NumClasses is >= 2 and <= 32, $"dataset.num_classes: {d.NumClasses} is out of range; use 2 to 32.");
        CheckSide("height", d.Height);
        CheckSide("width", d.Width);
        Check(d.TrainCount >= 1, $"dataset.train_count: {d.TrainCount} must be at least 1.");
        Check(d.ValidationCount >= 1, $"dataset.validation_count: {d.ValidationCount} must be at least 1.");

        Check(!string.IsNullOrWhiteSpace(spec.Model.Name), "model.name: empty; use e.g. 'spgnet'.");
        Check(spec.Model.Width is >= 4 and <= 512, $"model.width: {spec.Model.Width} is out of range; use 4 to 512.");
        Check(spec.Model.Norm is "bn" or "gn" or "none", $"model.norm: '{spec.Model.Norm}' is unknown; use 'bn', 'gn' or 'none'.");
        Check(spec.Model.DecoderTruncation is > 0 and <= 1,
            $"model.decoder_truncation: {spec.Model.DecoderTruncation} is out of range; use a ratio in (0, 1], e.g. 1 (off), 0.5 or 0.25.");

        var t = spec.Training;
        Check(t.Epochs is null ? t.Steps >= 1 : t.Epochs >= 1,
            t.Epochs is null ? $"training.steps: {t.Steps} must be at least 1." : $"training.epochs: {t.Epochs} must be at least 1.");
        Check(t.BatchPerWorker >= 1, $"training.batch_per_worker: {t.BatchPerWorker} must be at least 1.");
        Check(t.LearningRate > 0 && double.IsFinite(t.LearningRate), $"training.learning_rate: {t.LearningRate} must be a positive number.");
        Check(t.Momentum is >= 0 and < 1, $"training.momentum: {t.Momentum} must be in [0, 1).");
        Check(t.WeightDecay >= 0, $"training.weight_decay: {t.WeightDecay} must be non-negative.");
        Check(t.AuxiliaryWeight >= 0, $"training.auxiliary_weight: {t.AuxiliaryWeight} must be non-negative.");
        Check(t.EvaluationBatch >= 1, $"training.evaluation_batch: {t.EvaluationBatch} must be at least 1.");
        var l = spec.Labels;
        Check(LabelsSpec.Modes.Contains(l.Mode), $"labels.mode: '{l.Mode}' is unknown; use one of {string.Join(", ", LabelsSpec.Modes)}.");
        Check(l.Factor is 1 or 2 or 4 or 8 or 16, $"labels.factor: {l.Factor} is not supported; use 1, 2, 4, 8 or 16 (it must divide the image sides).");
        Check(!LabelsSpec.FullGridModes.Contains(l.Mode) || l.Factor == 1,
            $"labels.factor: {l.Factor} needs a down-sampling mode ('{l.Mode}' trains at full resolution); set labels.mode to one of {string.Join(", ", LabelsSpec.Modes.Except(LabelsSpec.FullGridModes))}, or labels.factor to 1.");
        Check(l.BlockMinPurity is >= 0 and <= 1, $"labels.block_min_purity: {l.BlockMinPurity} must be in [0, 1].");
        if (errors.Count == 0)
            Check(d.TrainCount >= spec.Workers * t.BatchPerWorker,
                $"dataset.train_count: {d.TrainCount} samples cannot fill one global batch of {spec.Workers} workers × {t.BatchPerWorker}; raise train_count or lower the batch.");
        return errors;

        void CheckSide(string name, int side)
        {
            var nearest = Math.Max(OutputStride, (int)Math.Round(side / (double)OutputStride) * OutputStride);
            Check(side >= OutputStride && side % OutputStride == 0 && side <= 8192,
                $"dataset.{name}: {side} is not a valid image side; it must be a multiple of {OutputStride} between {OutputStride} and 8192 (nearest: {nearest}).");
        }
    }

    public static bool IsDevice(string device) =>
        device == "cpu" || device == "cuda" ||
        (device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), out var n) && n >= 0);
}
