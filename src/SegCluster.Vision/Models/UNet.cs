using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Heads;
using SegCluster.Vision.Spectral;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// U-Net (Ronneberger et al., MICCAI 2015) on a pluggable encoder, as segmentation_models.pytorch builds it:
/// from the coarsest level down, upsample bilinearly to the next finer encoder feature, concatenate it
/// (the skip), then two 3×3 conv → norm → ReLU. Decoder widths C·2^l at level l (C = Width), so the finest
/// decoder feature has C channels; the head upsamples its logits to the input size.
/// Bilinear upsampling instead of the paper's transposed convs keeps the parameter budget in the convs.
/// Decoder truncation (§2) cuts the finest skip, as in <see cref="EncoderDecoderNet"/>.
/// </summary>
public sealed class UNet : SegmentationModel
{
    private readonly Encoder encoder;
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> up;
    private readonly SpectralFeatureTruncation truncation;
    private readonly SegmentationHead head;

    public UNet(ModelOptions options) : base(nameof(UNet), options)
    {
        options.Validate();
        encoder = options.CreateEncoder();
        var enc = encoder.Channels;
        int levels = enc.Count;
        int Decoder(int level) => options.Width << level;
        // up[i] produces decoder level L-2-i from decoder level L-1-i (the encoder's own at the top) and the skip.
        up = nn.ModuleList(Enumerable.Range(0, levels - 1).Select(i =>
        {
            int level = levels - 2 - i;
            int below = i == 0 ? enc[levels - 1] : Decoder(level + 1);
            return (nn.Module<Tensor, Tensor>)nn.Sequential(
                ("0", Layers.ConvNormRelu(below + enc[level], Decoder(level), options.Norm)),
                ("1", Layers.ConvNormRelu(Decoder(level), Decoder(level), options.Norm)));
        }).ToArray());
        truncation = new SpectralFeatureTruncation(options.DecoderTruncation);
        head = new SegmentationHead(Decoder(0), options.NumClasses);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override int OutputStride => encoder.OutputStride;
    public override SegmentationHead Head => head;

    /// <param name="images">(B, 3, H, W), H and W multiples of the output stride.</param>
    protected override SegmentationOutput Compute(Tensor images, long[] size)
    {
        var features = encoder.call(images);
        var x = features[^1];                                              // (B, C_L, H/OS, W/OS)
        for (int i = 0; i < up.Count; i++)
        {
            var skip = features[features.Count - 2 - i];                   // (B, C_l, H/s_l, W/s_l)
            if (i == up.Count - 1) skip = truncation.call(skip);          // §2: the finest block runs on r·H/s_0 × r·W/s_0
            x = up[i].call(cat([Layers.ResizeLike(x, skip), skip], dim: 1));  // (B, C·2^l, H/s_l, W/s_l)
        }
        var logits = head.call(x, size);                                // (B, K, H, W)
        return new SegmentationOutput(logits, []) { Feature = x };
    }
}
