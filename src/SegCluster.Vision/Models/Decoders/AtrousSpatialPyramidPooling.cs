using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Decoders;

/// <summary>
/// ASPP of DeepLabV3/V3+ (Chen et al. 2017 §3.3, 2018 §3.1; torchvision's ASPP): five parallel branches on the
/// coarsest encoder feature (a 1×1 conv, three 3×3 convs with atrous rates r1, r2, r3 and image pooling:
/// global average pool → 1×1 conv → norm → ReLU → upsample), concatenated and projected by 1×1 conv → norm → ReLU.
/// Rates are 6/12/18 at output stride 16 and 12/24/36 at 8 (the papers); in general 6·16/OS, 12·16/OS, 18·16/OS.
/// torchvision's 0.5 dropout after the projection is left out: the CPU runs here are far too short to overfit.
/// </summary>
public sealed class AtrousSpatialPyramidPooling : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> convs;
    private readonly nn.Module<Tensor, Tensor> pooling;
    private readonly nn.Module<Tensor, Tensor> project;

    /// <summary>The atrous rates of the three 3×3 branches for an output stride.</summary>
    public static int[] Rates(int outputStride) => [6 * 16 / outputStride, 12 * 16 / outputStride, 18 * 16 / outputStride];

    public AtrousSpatialPyramidPooling(int inChannels, int channels, int outputStride, NormKind norm) : base(nameof(AtrousSpatialPyramidPooling))
    {
        var rates = Rates(outputStride);
        convs = nn.ModuleList(
            Layers.ConvNormRelu(inChannels, channels, norm, kernel: 1),
            Layers.ConvNormRelu(inChannels, channels, norm, dilation: Math.Max(1, rates[0])),
            Layers.ConvNormRelu(inChannels, channels, norm, dilation: Math.Max(1, rates[1])),
            Layers.ConvNormRelu(inChannels, channels, norm, dilation: Math.Max(1, rates[2])));
        pooling = Layers.ConvNormRelu(inChannels, channels, norm, kernel: 1);
        project = Layers.ConvNormRelu(5 * channels, channels, norm, kernel: 1);
        RegisterComponents();
    }

    /// <param name="x">(B, C_in, h, w), the coarsest encoder feature.</param>
    /// <returns>(B, channels, h, w).</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var branches = convs.Select(c => c.call(x)).ToList();           // 4 × (B, A, h, w)
        var pooled = pooling.call(nn.functional.adaptive_avg_pool2d(x, [1, 1]));  // (B, A, 1, 1)
        branches.Add(Layers.ResizeLike(pooled, x));
        return project.call(cat(branches, dim: 1)).MoveToOuterDisposeScope();   // (B, A, h, w)
    }
}
