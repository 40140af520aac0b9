using SegCluster.Abstractions.Messages;
using SegCluster.Vision.Inference;

namespace SegCluster.Cluster.Evaluation;

/// <summary>The wire form of inference settings (Abstractions) into Vision's <see cref="InferenceOptions"/>.</summary>
public static class InferenceMapping
{
    public static InferenceOptions Options(InferenceSettings settings) => settings.Mode switch
    {
        InferenceSettings.WholeMode => new InferenceOptions(Scales: settings.Scales, Flip: settings.Flip),
        InferenceSettings.SlideMode => new InferenceOptions((settings.CropHeight, settings.CropWidth),
            (settings.StrideHeight > 0 ? settings.StrideHeight : settings.CropHeight, settings.StrideWidth > 0 ? settings.StrideWidth : settings.CropWidth),
            settings.Scales, settings.Flip),
        _ => throw new ArgumentException($"mode: '{settings.Mode}' is unknown; use '{InferenceSettings.WholeMode}' or '{InferenceSettings.SlideMode}'."),
    };

    /// <summary>The predictor of a rebuilt checkpoint's network (eval mode, logits at the input size).</summary>
    public static SegmentationPredictor Predictor(CheckpointModel checkpoint, InferenceSettings settings) =>
        new(images => checkpoint.Model.forward(images).Logits, checkpoint.Model.OutputStride, Options(settings));
}
