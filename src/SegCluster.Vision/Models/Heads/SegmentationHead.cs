using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Heads;

/// <summary>Final classifier: 1×1 conv to K logits, bilinearly upsampled to the input size.</summary>
public sealed class SegmentationHead : nn.Module<Tensor, long[], Tensor>
{
    private readonly TorchSharp.Modules.Conv2d classifier;

    public SegmentationHead(int channels, int numClasses) : base(nameof(SegmentationHead))
    {
        classifier = nn.Conv2d(channels, numClasses, kernel_size: 1);
        RegisterComponents();
    }

    /// <summary>The classifier's weight W, (K, D, 1, 1), with autograd (PAPERS.md §4: ReLU(W_k) is class k's channel importance).</summary>
    public Tensor Weight => classifier.weight!;

    /// <param name="feature">(B, D, h, w).</param>
    /// <param name="size">[H, W] of the input image.</param>
    /// <returns>(B, K, H, W) logits.</returns>
    public override Tensor forward(Tensor feature, long[] size)
    {
        using var scope = NewDisposeScope();
        var logits = classifier.call(feature);  // (B, K, h, w)
        return nn.functional.interpolate(logits, size, mode: InterpolationMode.Bilinear, align_corners: false).MoveToOuterDisposeScope();
    }
}
