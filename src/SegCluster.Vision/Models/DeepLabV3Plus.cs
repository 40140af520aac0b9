using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Decoders;
using SegCluster.Vision.Models.Heads;
using SegCluster.Vision.Spectral;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// DeepLabV3+ (Chen et al., ECCV 2018), the network the spectral paper evaluates (PAPERS.md §2):
/// encoder (ResNets at output stride 16 unless <see cref="ModelOptions.OutputStride"/> says 8 or 32) →
/// <see cref="AtrousSpatialPyramidPooling"/> on the coarsest feature → decoder: the stride-4 low-level
/// feature projected to 48 channels (1×1 conv, norm, ReLU), concatenated with the ×4-upsampled ASPP output,
/// two 3×3 conv → norm → ReLU, 1×1 classifier, bilinear upsampling to the input size.
/// Channels: ASPP/decoder 256 and low-level 48 at torchvision width 64, scaled by Width/64 for narrower runs.
/// Label grid factor f ≥ 8 (<see cref="ModelOptions.LogitFactor"/>): the decoder runs at stride min(f, OS) instead
/// of 4, on the low-level feature area-pooled to it. Decoder truncation r: the low-level feature is spectrally cut to
/// r times its grid (<see cref="SpectralFeatureTruncation"/>) and the fusion convolutions run there (PAPERS.md §2).
/// </summary>
public sealed class DeepLabV3Plus : SegmentationModel
{
    private readonly Encoder encoder;
    private readonly AtrousSpatialPyramidPooling aspp;
    private readonly nn.Module<Tensor, Tensor> low_level;
    private readonly nn.Module<Tensor, Tensor> fuse;
    private readonly SpectralFeatureTruncation truncation;
    private readonly SegmentationHead head;
    private readonly int lowLevelIndex;
    private readonly int lowLevelPool;

    public DeepLabV3Plus(ModelOptions options) : base(nameof(DeepLabV3Plus), options)
    {
        options.Validate();
        encoder = options.CreateEncoder(resNetOutputStride: 16);
        int channels = Math.Max(8, 256 * options.Width / 64);
        int lowChannels = Math.Max(4, 48 * options.Width / 64);
        lowLevelIndex = encoder.Strides.ToList().IndexOf(4);  // both backbones have a stride-4 level
        lowLevelPool = Math.Clamp(options.LogitFactor, 4, encoder.OutputStride) / 4;  // decoder stride / 4
        aspp = new AtrousSpatialPyramidPooling(encoder.Channels[^1], channels, encoder.OutputStride, options.Norm);
        low_level = Layers.ConvNormRelu(encoder.Channels[lowLevelIndex], lowChannels, options.Norm, kernel: 1);
        fuse = nn.Sequential(
            ("0", Layers.ConvNormRelu(channels + lowChannels, channels, options.Norm)),
            ("1", Layers.ConvNormRelu(channels, channels, options.Norm)));
        truncation = new SpectralFeatureTruncation(options.DecoderTruncation);
        head = new SegmentationHead(channels, options.NumClasses);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override int OutputStride => encoder.OutputStride;
    public override SegmentationHead Head => head;

    /// <param name="images">(B, 3, H, W), H and W multiples of the output stride.</param>
    protected override SegmentationOutput Compute(Tensor images, long[] size)
    {
        var features = encoder.call(images);
        var context = aspp.call(features[^1]);                          // (B, A, H/OS, W/OS)
        var skip = features[lowLevelIndex];                             // (B, C_1, H/4, W/4)
        if (lowLevelPool > 1) skip = nn.functional.avg_pool2d(skip, lowLevelPool, lowLevelPool);  // (B, C_1, H/g, W/g), g = 4·pool
        var low = truncation.call(low_level.call(skip));                // (B, 48', r·H/g, r·W/g)
        var fused = fuse.call(cat([Layers.ResizeLike(context, low), low], dim: 1));  // (B, A, r·H/g, r·W/g)
        var logits = head.call(fused, size);                            // (B, K, H, W); (B, K, H/f, W/f) in training at label factor f
        return new SegmentationOutput(logits, []) { Feature = fused };
    }
}
