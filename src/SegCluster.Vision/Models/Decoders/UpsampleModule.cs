using SegCluster.Vision.Models.Backbones;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Decoders;

/// <summary>
/// SPGNet's light upsample module (PAPERS.md §1): bilinear ×2 of the coarser decoder feature, plus the
/// encoder skip feature through a 1×1 projection, then a residual block.
/// </summary>
public sealed class UpsampleModule : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> skip;
    private readonly ResidualBlock block;

    public UpsampleModule(int skipChannels, int channels, NormKind norm) : base(nameof(UpsampleModule))
    {
        skip = Layers.Projection(skipChannels, channels, norm);
        block = new ResidualBlock(channels, channels, norm);
        RegisterComponents();
    }

    /// <param name="x">(B, D, h, w) coarser decoder feature.</param>
    /// <param name="encoderFeature">(B, C_skip, 2h, 2w) encoder feature at the target resolution.</param>
    /// <returns>(B, D, 2h, 2w).</returns>
    public override Tensor forward(Tensor x, Tensor encoderFeature)
    {
        using var scope = NewDisposeScope();
        var size = new[] { encoderFeature.shape[2], encoderFeature.shape[3] };
        var up = nn.functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: false);
        return block.call(Layers.Add(up, skip.call(encoderFeature))).MoveToOuterDisposeScope();
    }
}
