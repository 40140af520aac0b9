using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Heads;
using SegCluster.Vision.Spectral;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// Deep Aggregation Net ("DAN", evaluated next to DeepLabV3+ by the spectral paper, PAPERS.md §2).
/// Which reference: the spectral paper gives no architecture or code for DAN; the name points to Kuo et al.,
/// "Deep Aggregation Net for Land Cover Classification" (CVPR-W DeepGlobe 2018), which aggregates
/// multi-level ResNet features but publishes no code either. So this follows the best-documented deep
/// aggregation decoder, DLA-Up's iterative deep aggregation (Yu et al., "Deep Layer Aggregation", CVPR 2018,
/// §3.2 IDA and the segmentation DLA-Up): every encoder level is projected to D = 2C channels (1×1 conv,
/// norm, ReLU); then L−1 rounds each merge every adjacent pair of scales with an aggregation node
/// x_l ← Node(x_l + up(x_{l+1})), Node = 3×3 conv → norm → ReLU, so shallow features are refined again and
/// again by deeper ones until one feature at the finest encoder stride remains; the head upsamples its
/// logits to the input size. Why this one: it is the published, reproducible form of "aggregate deep and
/// shallow features iteratively", and it differs structurally from U-Net (one pass) and DeepLabV3+ (two scales).
/// Decoder truncation (§2) cuts the finest level's projected feature, so every round's finest node runs on its grid.
/// </summary>
public sealed class DeepAggregationNet : SegmentationModel
{
    private readonly Encoder encoder;
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> project;
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> nodes;
    private readonly SpectralFeatureTruncation truncation;
    private readonly SegmentationHead head;

    public DeepAggregationNet(ModelOptions options) : base(nameof(DeepAggregationNet), options)
    {
        options.Validate();
        encoder = options.CreateEncoder();
        int channels = 2 * options.Width;
        int levels = encoder.Channels.Count;
        project = nn.ModuleList(encoder.Channels.Select(c => Layers.ConvNormRelu(c, channels, options.Norm, kernel: 1)).ToArray());
        // rounds r = 1..L-1 merge levels 0..L-1-r: (L-1) + (L-2) + ... + 1 nodes, in call order.
        nodes = nn.ModuleList(Enumerable.Range(0, levels * (levels - 1) / 2)
            .Select(_ => Layers.ConvNormRelu(channels, channels, options.Norm)).ToArray());
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
        var x = features.Select((f, l) => project[l].call(f)).ToArray();  // [(B, D, H/s_l, W/s_l)]
        x[0] = truncation.call(x[0]);  // §2 feature truncation: the finest level aggregates on an r-times smaller grid
        int node = 0;
        for (int round = 1; round < x.Length; round++)
            for (int l = 0; l < x.Length - round; l++)
                x[l] = nodes[node++].call(Layers.Add(x[l], Layers.ResizeLike(x[l + 1], x[l])));  // (B, D, H/s_l, W/s_l)
        var logits = head.call(x[0], size);                                // (B, K, H, W)
        return new SegmentationOutput(logits, []) { Feature = x[0] };
    }
}
