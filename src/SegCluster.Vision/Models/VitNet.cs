using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// ViT/16 segmentation model ("vit" in <see cref="ModelRegistry"/>; PAPERS.md §5's transformer
/// backbone): <see cref="VisionTransformer"/> with <see cref="VitConfig.ForWidth"/> (CPU-sized) →
/// light decoder at stride 16 (1×1 conv + norm + ReLU to 2·Width, then 3×3 conv + norm + ReLU) →
/// <see cref="SegmentationHead"/> (1×1 classifier, bilinear upsampling to the input size).
/// </summary>
public sealed class VitNet : SegmentationModel
{
    private readonly VisionTransformer encoder;
    private readonly nn.Module<Tensor, Tensor> decoder;
    private readonly SegmentationHead head;

    /// <summary>The encoder <see cref="ModelOptions.Backbone"/> names: vit-s, vit-b, or the CPU-sized config for tiny.</summary>
    public VitNet(ModelOptions options) : this(options, (options ?? throw new ArgumentNullException(nameof(options))).Backbone switch
    {
        BackboneRegistry.VitSmall => VitConfig.Small,
        BackboneRegistry.VitBase => VitConfig.Base,
        _ => VitConfig.ForWidth(options.Width),
    }) { }

    /// <summary>Any encoder config (e.g. <see cref="VitConfig.Small"/>) with the light decoder.</summary>
    public VitNet(ModelOptions options, VitConfig config) : base(nameof(VitNet), options)
    {
        options.Validate();
        int channels = 2 * options.Width;
        encoder = new VisionTransformer(config);
        // As the CNN encoders load theirs (ModelOptions.CreateEncoder); a timm-style classifier head in the file is not ours.
        if (options.BackboneWeights is { } weights) BackboneWeights.Load(encoder, weights, key => key.StartsWith("head.", StringComparison.Ordinal));
        decoder = nn.Sequential(
            ("project", Layers.Projection(config.Dim, channels, options.Norm)),
            ("relu1", nn.ReLU()),
            ("conv", Layers.Conv3x3(channels, channels, options.Norm)),
            ("norm", Layers.Norm(options.Norm, channels)),
            ("relu2", nn.ReLU()));
        head = new SegmentationHead(channels, options.NumClasses);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override int OutputStride => encoder.OutputStride;

    /// <inheritdoc/>
    public override SegmentationHead Head => head;

    /// <param name="images">(B, 3, H, W), H and W multiples of 16.</param>
    protected override SegmentationOutput Compute(Tensor images, long[] size)
    {
        var tokens = encoder.call(images);          // (B, Dim, H/16, W/16)
        var feature = decoder.call(tokens);         // (B, 2·Width, H/16, W/16)
        var logits = head.call(feature, size);      // (B, K, H, W)
        return new SegmentationOutput(logits, []) { Feature = feature };
    }
}
