namespace SegCluster.Abstractions.Specs;

/// <summary>Checks of model.* beyond name/width/norm and of loss.*: each message names the field and lists
/// the valid choices or the fix (STYLE.md habit 2). Part of <see cref="SpecValidation.Validate"/>.</summary>
public static class ModelAndLossValidation
{
    public static IReadOnlyList<string> Validate(ExperimentSpec spec)
    {
        var errors = new List<string>();
        void Check(bool ok, string message) { if (!ok) errors.Add(message); }

        var m = spec.Model;
        // Checks that depend on another field run only when that field is valid (SpecValidation says why).
        var modelKnown = ModelCatalog.Models.Contains(m.Name);
        var backbones = ModelCatalog.Backbones(m.Name);
        Check(!modelKnown || backbones.Contains(m.Backbone),
            $"model.backbone: '{m.Backbone}' is not a backbone of model '{m.Name}'; use one of {string.Join(", ", backbones)}.");
        var strides = ModelCatalog.OutputStrides(m.Backbone);
        Check(m.OutputStride is null || !backbones.Contains(m.Backbone) || strides.Contains(m.OutputStride.Value),
            $"model.output_stride: {m.OutputStride} is not supported by backbone '{m.Backbone}'; use one of {string.Join(", ", strides)} or leave it unset.");
        Check(m.BackboneWeights is null || m.BackboneWeights.Trim().Length > 0,
            "model.backbone_weights: empty; give the path of a TorchSharp state-dict file or leave it unset.");
        Check(m.Spg is not null, "model.spg: missing; leave it out for the defaults (supervision, sigmoid, identity all true).");
        Check(!modelKnown || m.DecoderTruncation is not (> 0 and < 1) || ModelCatalog.TruncatingModels.Contains(m.Name),
            $"model.decoder_truncation: {m.DecoderTruncation} needs a model with a fine decoder level to truncate; '{m.Name}' decodes stride-16 tokens only. " +
            $"Use one of {string.Join(", ", ModelCatalog.TruncatingModels)}, or leave it at 1.");

        var loss = spec.Loss;
        if (loss is null)
        {
            errors.Add($"loss: missing; leave it out for the default kind '{LossSpec.CrossEntropyKind}'.");
            return errors;
        }
        Check(LossSpec.Kinds.Contains(loss.Kind), $"loss.kind: '{loss.Kind}' is unknown; use one of {string.Join(", ", LossSpec.Kinds)}.");
        if (loss.Kind == LossSpec.CrossEntropyKind || !LossSpec.Kinds.Contains(loss.Kind)) return errors;

        Check(spec.Labels?.Mode is null or LabelsSpec.Full || !LabelsSpec.Modes.Contains(spec.Labels.Mode),
            $"labels.mode: '{spec.Labels?.Mode}' works with loss.kind '{LossSpec.CrossEntropyKind}' only; set labels.mode to '{LabelsSpec.Full}' for loss.kind '{loss.Kind}'.");
        Check(!modelKnown || loss.Kind == LossSpec.ScribbleRegularizedKind && loss.Scribble is { Dynamic: false } || ModelCatalog.ModelsWithClassifierHead.Contains(m.Name),
            $"model.name: '{m.Name}' has no exposed 1×1 classifier head, which loss.kind '{loss.Kind}' needs; use one of {string.Join(", ", ModelCatalog.ModelsWithClassifierHead)}" +
            (loss.Kind == LossSpec.ScribbleRegularizedKind ? " or set loss.scribble.dynamic to false." : "."));
        if (loss.Kind == LossSpec.ClassSuppressionKind) CheckClassSuppression(loss.ClassSuppression);
        else CheckScribble(loss.Scribble);
        return errors;

        void CheckClassSuppression(ClassSuppressionSpec? c)
        {
            if (c is null) { errors.Add("loss.class_suppression: missing; leave it out for the defaults."); return; }
            Check(c.EndEpoch is null || (double.IsFinite(c.EndEpoch.Value) && c.EndEpoch > 0), $"loss.class_suppression.end_epoch: {c.EndEpoch} must be a positive number (or unset: the run's length).");
            Check(c.TotalEpochs is null || (double.IsFinite(c.TotalEpochs.Value) && c.TotalEpochs > 0), $"loss.class_suppression.total_epochs: {c.TotalEpochs} must be a positive number (or unset: the run's length).");
            Check(double.IsFinite(c.SuppressionWeight) && c.SuppressionWeight >= 0, $"loss.class_suppression.suppression_weight: {c.SuppressionWeight} must be a number >= 0 (the paper: 10).");
            Check(double.IsFinite(c.FrequencyPrior) && c.FrequencyPrior >= 0, $"loss.class_suppression.frequency_prior: {c.FrequencyPrior} must be a number >= 0 (0 = plain inverse frequency).");
            Check(ClassSuppressionSpec.Samplings.Contains(c.Sampling), $"loss.class_suppression.sampling: '{c.Sampling}' is unknown; use one of {string.Join(", ", ClassSuppressionSpec.Samplings)}.");
        }

        void CheckScribble(ScribbleLossSpec? s)
        {
            if (s is null) { errors.Add("loss.scribble: missing; leave it out for the defaults."); return; }
            Check(double.IsFinite(s.Lambda) && s.Lambda >= 0, $"loss.scribble.lambda: {s.Lambda} must be a number >= 0 (default 8.6).");
            Check(double.IsFinite(s.SigmaRgb) && s.SigmaRgb > 0, $"loss.scribble.sigma_rgb: {s.SigmaRgb} must be > 0 (rloss: 15).");
            Check(double.IsFinite(s.SigmaXy) && s.SigmaXy > 0, $"loss.scribble.sigma_xy: {s.SigmaXy} must be > 0 (rloss: 100).");
            Check(double.IsFinite(s.SigmaFeature) && s.SigmaFeature > 0, $"loss.scribble.sigma_feature: {s.SigmaFeature} must be > 0 (default 0.5).");
            Check(double.IsFinite(s.Scale) && s.Scale is > 0 and <= 1, $"loss.scribble.scale: {s.Scale} must be in (0, 1] (rloss: 0.5).");
            Check(s.MaxGridSide is >= 2 and <= 64, $"loss.scribble.max_grid_side: {s.MaxGridSide} must be in [2, 64] (the kernel is dense: N² entries per image).");
            Check(double.IsFinite(s.RgbPerUnit) && s.RgbPerUnit > 0, $"loss.scribble.rgb_per_unit: {s.RgbPerUnit} must be > 0 (1 for 0–255 images, 59 for the synthetic set).");
            Check(double.IsFinite(s.ConsistencyWeight) && s.ConsistencyWeight >= 0, $"loss.scribble.consistency_weight: {s.ConsistencyWeight} must be a number >= 0.");
            Check(s.EmbeddingChannels is >= 2 and <= 1024, $"loss.scribble.embedding_channels: {s.EmbeddingChannels} must be in [2, 1024].");
            Check(s.WarmupSteps >= 0, $"loss.scribble.warmup_steps: {s.WarmupSteps} must be >= 0.");
        }
    }
}
