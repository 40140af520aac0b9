using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// PAPERS.md §3's low-resolution training: the wrapped network runs on the image area-down-sampled by f (avg_pool2d, the
/// box filter the soft labels are pooled with; the authors resize with antialiasing), so every activation lives on a grid
/// f times smaller per side and activation memory falls about f². <see cref="SegmentationModel.forward"/> takes the FULL
/// (B, 3, H, W) image: in training mode it returns the network's own (B, K, H/f, W/f) logits, the grid at which the
/// criterion builds labels from the full-resolution mask (soft, nearest, majority or block at factor f); in eval mode the
/// logits are bilinearly upsampled to (H, W), so evaluation scores every pixel of the full-resolution labels.
/// Distinct from <see cref="ModelOptions.LogitFactor"/> (PAPERS.md §2's setting: full-resolution input, the decoder stops
/// at the label grid): the wrapped network is built with LogitFactor 1, its whole decoder running at its (small) input.
/// </summary>
/// <remarks>
/// <see cref="SegmentationModel.Options"/> is the wrapped network's with LogitFactor = f, so <c>LogitSize</c> gives the
/// wrapper's own output sizes ((H/f, W/f) in training, (H, W) in eval) to any wrapper around it. Inputs must be multiples of
/// f × the wrapped network's output stride (<see cref="OutputStride"/>). No parameters of its own.
/// </remarks>
public sealed class LowResolutionInputNet : SegmentationModel
{
    private readonly SegmentationModel inner;

    /// <param name="inner">The network to run at low resolution, built with <see cref="ModelOptions.LogitFactor"/> = 1.</param>
    /// <param name="factor">f, a value of <see cref="ModelOptions.LogitFactors"/> above 1.</param>
    public LowResolutionInputNet(SegmentationModel inner, int factor)
        : base(nameof(LowResolutionInputNet), Checked(inner, factor).Options with { LogitFactor = factor })
    {
        this.inner = inner;
        RegisterComponents();
    }

    /// <summary>f: the network sees (H/f, W/f).</summary>
    public int Factor => Options.LogitFactor;

    /// <summary>The network that runs on the down-sampled image.</summary>
    public SegmentationModel Inner => inner;

    /// <inheritdoc/>
    public override int OutputStride => inner.OutputStride * Factor;

    /// <inheritdoc/>
    public override Heads.SegmentationHead? Head => inner.Head;

    /// <inheritdoc/>
    public override SegmentationModel CreateUntrained() => new LowResolutionInputNet(inner.CreateUntrained(), Factor);

    /// <inheritdoc/>
    protected override SegmentationOutput Compute(Tensor images, long[] size)
    {
        var small = nn.functional.avg_pool2d(images, Factor, Factor);  // (B, 3, H/f, W/f)
        var output = inner.call(small);                                 // logits (B, K, H/f, W/f): the inner network's input size
        if (training) return output;
        var logits = nn.functional.interpolate(output.Logits, size, mode: InterpolationMode.Bilinear, align_corners: false);  // (B, K, H, W)
        return output with { Logits = logits };
    }

    private static SegmentationModel Checked(SegmentationModel inner, int factor)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (factor < 2 || !ModelOptions.LogitFactors.Contains(factor))
            throw new ArgumentOutOfRangeException(nameof(factor), factor,
                $"the input down-sampling factor must be one of {string.Join(", ", ModelOptions.LogitFactors.Where(f => f > 1))}");
        if (inner.Options.LogitFactor != 1)
            throw new ArgumentException(
                $"the wrapped network has ModelOptions.LogitFactor = {inner.Options.LogitFactor}; build it with LogitFactor = 1: it computes at its own input, the down-sampled image.",
                nameof(inner));
        return inner;
    }
}
