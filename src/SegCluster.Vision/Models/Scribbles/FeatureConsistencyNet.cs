using SegCluster.Vision.Models.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Scribbles;

/// <summary>
/// Feature consistency head (Zhang et al. 2021, PAPERS.md §5): wraps a model that exposes its
/// pre-classifier feature (<see cref="SegmentationOutput.Feature"/>, (B, D, h, w)) and adds a projection
/// 1×1 conv → ReLU → 1×1 conv to an E-dimensional per-pixel embedding, L2-normalised
/// (<see cref="SegmentationOutput.Embedding"/>). <see cref="Losses.ScribbleRegularizedCriterion"/> trains
/// it with a consistency loss (pairwise embedding similarity should agree with the current predictions)
/// and reads it, detached, as the deep features of the dynamic kernel. The head sees the backbone
/// feature detached, so the consistency loss trains only the head and never pulls the backbone.
/// Everything else of the wrapped model's output passes through unchanged.
/// </summary>
public sealed class FeatureConsistencyNet : SegmentationModel
{
    private readonly SegmentationModel inner;
    private readonly nn.Module<Tensor, Tensor> projection;

    /// <param name="inner">A model that sets <see cref="SegmentationOutput.Feature"/> and exposes <see cref="SegmentationModel.Head"/>.</param>
    /// <param name="embeddingChannels">E, the embedding size (16, the spec default loss.scribble.embedding_channels).</param>
    public FeatureConsistencyNet(SegmentationModel inner, int embeddingChannels = 16)
        : base(nameof(FeatureConsistencyNet), (inner ?? throw new ArgumentNullException(nameof(inner))).Options)
    {
        if (embeddingChannels is < 2 or > 1024)
            throw new ArgumentOutOfRangeException(nameof(embeddingChannels), embeddingChannels, "the embedding size must be in [2, 1024].");
        var head = inner.Head ?? throw new ArgumentException(
            $"{inner.GetType().Name} exposes no classifier head (SegmentationModel.Head is null), so its feature width is unknown.", nameof(inner));
        int channels = (int)head.Weight.shape[1];
        this.inner = inner;
        projection = nn.Sequential(
            ("conv1", nn.Conv2d(channels, channels, kernel_size: 1)),
            ("relu", nn.ReLU()),
            ("conv2", nn.Conv2d(channels, embeddingChannels, kernel_size: 1)));
        EmbeddingChannels = embeddingChannels;
        RegisterComponents();
    }

    public override SegmentationModel CreateUntrained() => new FeatureConsistencyNet(inner.CreateUntrained(), EmbeddingChannels);

    /// <summary>E.</summary>
    public int EmbeddingChannels { get; }

    /// <inheritdoc/>
    public override int OutputStride => inner.OutputStride;

    /// <inheritdoc/>
    public override SegmentationHead? Head => inner.Head;

    /// <inheritdoc/>
    protected override SegmentationOutput Compute(Tensor images, long[] size)
    {
        var output = inner.call(images);
        var feature = output.Feature ?? throw new InvalidOperationException(
            $"{inner.GetType().Name} did not set SegmentationOutput.Feature; the feature consistency head needs it.");
        var embedding = nn.functional.normalize(projection.call(feature.detach()), p: 2, dim: 1);  // (B, E, h, w)
        return output with { Embedding = embedding };
    }
}
