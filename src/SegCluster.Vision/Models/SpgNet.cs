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
/// <see cref="ModelOptions.SpgSigmoid"/> and <see cref="ModelOptions.SpgIdentity"/>. With a label grid factor f
/// (<see cref="ModelOptions.LogitFactor"/>) both decoders stop at the level of stride ≤ f and the SPG sits there.
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
        int stop = DecoderStopLevel(encoder1.Strides, options.LogitFactor);
        decoder1 = new LightDecoder(encoder1.Channels, decoderChannels, options.Norm, stop, options.DecoderTruncation);
        spg = new SemanticPredictionGuidance(decoderChannels, options.NumClasses, options.SpgSigmoid, options.SpgIdentity);
        encoder2 = options.CreateEncoder();
        aggregation = new CrossStageAggregation(encoder2.Channels, decoderChannels, options.Norm, stop);
        decoder2 = new LightDecoder(encoder2.Channels, decoderChannels, options.Norm, stop, options.DecoderTruncation);
        head = new SegmentationHead(decoderChannels, options.NumClasses);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override int OutputStride => encoder1.OutputStride;
    public override SegmentationHead Head => head;

    /// <param name="images">(B, 3, H, W), H and W multiples of the output stride.</param>
    protected override SegmentationOutput Compute(Tensor images, long[] size)
    {
        int stop = decoder1.StopLevel;

        // stage 1
        var enc1 = encoder1.call(images);                 // [(B, C_l, H/s_l, W/s_l)], s = encoder strides
        var dec1 = decoder1.call(enc1).ToArray();         // [(B, D, H/s_l, W/s_l)] for levels stop..L-1
        var (refined, prediction) = spg.call(dec1[0]);    // (B, D, H/s_stop, W/s_stop), (B, K, H/s_stop, W/s_stop)
        dec1[0] = refined;

        // stage 2 with cross-stage aggregation at every level (encoder term only below the decoder's stop level)
        var enc2 = encoder2.Forward(images, (level, x) => aggregation.Aggregate(level, x, enc1[level], level >= stop ? dec1[level - stop] : null));
        var dec2 = decoder2.call(enc2);
        var logits = head.call(dec2[0], size);  // (B, K, H, W); (B, K, H/f, W/f) in training at label factor f
        // Without supervision on P (ablation) the prediction is an unsupervised bottleneck, not an output.
        IReadOnlyList<Tensor> auxiliary = Options.SpgSupervision ? [prediction] : [];
        return new SegmentationOutput(logits, auxiliary) { Feature = dec2[0] };
    }
}
