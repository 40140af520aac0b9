using System.CommandLine;
using System.Globalization;
using SegCluster.Abstractions.Messages;
using SegCluster.Cli.Commands;

namespace SegCluster.Cli.Evaluation;

/// <summary>The inference options `eval` and `predict` share (--mode, --crop, --stride, --flip, --scales), parsed into
/// <see cref="InferenceSettings"/> with errors that name the option.</summary>
public sealed class InferenceArguments
{
    public Option<string> Mode { get; } = new("--mode")
    {
        Description = "whole: the image at once; slide: windows of --crop every --stride, probabilities averaged.",
        DefaultValueFactory = _ => InferenceSettings.WholeMode,
    };
    public Option<string?> Crop { get; } = new("--crop") { Description = "Sliding-window size HxW (--mode slide), a multiple of the network's output stride." };
    public Option<string?> Stride { get; } = new("--stride") { Description = "Step between windows HxW (default: the crop, no overlap)." };
    public Option<bool> Flip { get; } = new("--flip") { Description = "Also predict the horizontally flipped image and average." };
    public Option<string?> Scales { get; } = new("--scales") { Description = "Comma-separated image scales averaged, e.g. 0.75,1,1.25 (default: 1)." };

    public InferenceArguments() => Mode.AcceptOnlyFromAmong(InferenceSettings.WholeMode, InferenceSettings.SlideMode);

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Mode, Crop, Stride, Flip, Scales }) command.Options.Add(option);
    }

    /// <summary>The settings, or null with <paramref name="error"/> naming the option at fault.</summary>
    public InferenceSettings? Parse(ParseResult parse, out string error)
    {
        var mode = parse.GetValue(Mode)!;
        var (crop, stride) = (parse.GetValue(Crop), parse.GetValue(Stride));
        int cropHeight = 0, cropWidth = 0, strideHeight = 0, strideWidth = 0;
        if (mode == InferenceSettings.SlideMode && crop is null)
        {
            error = "--crop is required with --mode slide (e.g. --crop 512x1024).";
            return null;
        }
        if (mode == InferenceSettings.WholeMode && (crop is not null || stride is not null))
        {
            error = "--crop and --stride need --mode slide; whole-image inference has no windows.";
            return null;
        }
        // Each side at least 1: a stride of 0 stands for "the crop" on the wire (InferenceSettings), so --stride 0x0 was taken silently.
        if (crop is not null && !ImageSize.TryParseBounded(crop, out cropHeight, out cropWidth, out error, "--crop")) return null;
        if (stride is not null && !ImageSize.TryParseBounded(stride, out strideHeight, out strideWidth, out error, "--stride")) return null;
        var scales = new List<double>();
        foreach (var part in (parse.GetValue(Scales) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var scale) || !(scale is > 0 and <= 8))
            {
                error = $"--scales: '{part}' is not a scale in (0, 8]; use e.g. 0.75,1,1.25.";
                return null;
            }
            scales.Add(scale);
        }
        error = "";
        return new InferenceSettings(mode, cropHeight, cropWidth, strideHeight, strideWidth, parse.GetValue(Flip), scales);
    }
}
