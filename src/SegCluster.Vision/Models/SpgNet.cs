using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Decoders;
using SegCluster.Vision.Models.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// SPGNet (PAPERS.md §1): two encoder-decoder stages linked by an SPG module.
/// Stage 1: encoder → light decoder → SPG on the finest decoder feature (stride 2), whose prediction P
/// is the auxiliary output. Stage 2: a second encoder on the image whose level outputs are summed with
/// projections of stage 1's encoder and decoder features at the same resolution (cross-stage
/// aggregation; at the finest level the decoder feature is the SPG-refined F'), then a light decoder
/// and the head. Only the finest decoder level carries an SPG module, as the paper's figure does.
/// Encoders come from <see cref="ModelOptions.Backbone"/> (tiny: strides 2..16; ResNets: 4..32, so P is
/// at stride 4 as in the paper); the SPG ablation switches are <see cref="ModelOptions.SpgSupervision"/>,
/// <see cref="ModelOptions.SpgSigmoid"/> and <see cref="ModelOptions.SpgIdentity"/>.
/// </summary>
public sealed class SpgNet : SegmentationModel
{
    private readonly Encoder encoder1;
    private readonly LightDecoder decoder1;
    private readonly SemanticPredictionGuidance spg;
    private readonly Encoder encoder2;
    private readonly CrossStageAggregation aggregation;
    private readonly LightDecoder decoder2;
    private readonly SegmentationHead head;

    public SpgNet(ModelOptions options) : base(nameof(SpgNet), options)
    {
        options.Validate();
        int decoderChannels = 2 * options.Width;
        encoder1 = options.CreateEncoder();
        decoder1 = new LightDecoder(encoder1.Channels, decoderChannels, options.Norm);
        spg = new SemanticPredictionGuidance(decoderChannels, options.NumClasses, options.SpgSigmoid, options.SpgIdentity);
        encoder2 = options.CreateEncoder();
        aggregation = new CrossStageAggregation(encoder2.Channels, decoderChannels, options.Norm);
        decoder2 = new LightDecoder(encoder2.Channels, decoderChannels, options.Norm);
        head = new SegmentationHead(decoderChannels, options.NumClasses);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override int OutputStride => encoder1.OutputStride;
    public override SegmentationHead Head => head;

    /// <param name="images">(B, 3, H, W), H and W multiples of the output stride.</param>
    protected override SegmentationOutput Compute(Tensor images, long[] size)
    {
        // stage 1
        var enc1 = encoder1.call(images);                 // [(B, C_l, H/s_l, W/s_l)], s = encoder strides
        var dec1 = decoder1.call(enc1).ToArray();         // [(B, D, H/s_l, W/s_l)]
        var (refined, prediction) = spg.call(dec1[0]);    // (B, D, H/s_0, W/s_0), (B, K, H/s_0, W/s_0)
        dec1[0] = refined;

        // stage 2 with cross-stage aggregation at every level
        var enc2 = encoder2.Forward(images, (level, x) => aggregation.Aggregate(level, x, enc1[level], dec1[level]));
        var dec2 = decoder2.call(enc2);
        var logits = head.call(dec2[0], size);            // (B, K, H, W)
        // Without supervision on P (ablation) the prediction is an unsupervised bottleneck, not an output.
        IReadOnlyList<Tensor> auxiliary = Options.SpgSupervision ? [prediction] : [];
        return new SegmentationOutput(logits, auxiliary) { Feature = dec2[0] };
    }
}
