namespace SegCluster.Abstractions.Messages;

/// <summary>How eval/predict infer at full resolution (mmsegmentation's test_cfg), as it travels to workers.</summary>
/// <param name="Mode">"whole" (the whole image at once) or "slide" (windows of the crop every stride, averaged).</param>
/// <param name="Scales">Image scales averaged (multi-scale testing); empty = 1 only.</param>
[GenerateSerializer, Immutable, Alias("SegCluster.InferenceSettings")]
public sealed record InferenceSettings(
    [property: Id(0)] string Mode,
    [property: Id(1)] int CropHeight,
    [property: Id(2)] int CropWidth,
    [property: Id(3)] int StrideHeight,
    [property: Id(4)] int StrideWidth,
    [property: Id(5)] bool Flip,
    [property: Id(6)] IReadOnlyList<double> Scales)
{
    public const string WholeMode = "whole";
    public const string SlideMode = "slide";

    public static InferenceSettings Whole { get; } = new(WholeMode, 0, 0, 0, 0, false, []);
}
