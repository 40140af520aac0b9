using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Heads;

/// <summary>Final classifier: 1×1 conv to K logits, resized to the requested grid (bilinear up, area down).</summary>
public sealed class SegmentationHead : nn.Module<Tensor, long[], Tensor>, IClassifierOwner
{
    private readonly TorchSharp.Modules.Conv2d classifier;

    public SegmentationHead(int channels, int numClasses) : base(nameof(SegmentationHead))
    {
        classifier = nn.Conv2d(channels, numClasses, kernel_size: 1);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public TorchSharp.Modules.Conv2d Classifier => classifier;

    /// <summary>The classifier's weight W, (K, D, 1, 1), with autograd (PAPERS.md §4: ReLU(W_k) is class k's channel importance).</summary>
    public Tensor Weight => classifier.weight!;

    /// <param name="feature">(B, D, h, w).</param>
    /// <param name="size">[H', W'] of the output: the input image's size, or the label grid in training at factor f.</param>
    /// <returns>(B, K, H', W') logits.</returns>
    public override Tensor forward(Tensor feature, long[] size)
    {
        using var scope = NewDisposeScope();
        var logits = classifier.call(feature);  // (B, K, h, w)
        if (logits.shape[2] == size[0] && logits.shape[3] == size[1])
            return logits.MoveToOuterDisposeScope();
        // Coarser target (a label grid coarser than the decoder's finest level): area filter, as the labels are built.
        bool coarser = size[0] <= logits.shape[2] && size[1] <= logits.shape[3];
        var resized = coarser
            ? nn.functional.adaptive_avg_pool2d(logits, size)
            : nn.functional.interpolate(logits, size, mode: InterpolationMode.Bilinear, align_corners: false);
        return resized.MoveToOuterDisposeScope();
    }
}
