using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// The encoder contract (STYLE.md, segmentation_models.pytorch): (B, 3, H, W) images → one feature per
/// level, finest first, with declared <see cref="Channels"/> and <see cref="Strides"/>. Decoders
/// consume the list; a later SPGNet stage can add cross-stage features to each level through the hook
/// of <see cref="Forward"/>.
/// </summary>
public abstract class Encoder : nn.Module<Tensor, IReadOnlyList<Tensor>>
{
    protected Encoder(string name) : base(name)
    {
    }

    /// <summary>Channels of the returned features, finest first.</summary>
    public abstract IReadOnlyList<int> Channels { get; }

    /// <summary>Strides of the returned features relative to the input, finest first.</summary>
    public abstract IReadOnlyList<int> Strides { get; }

    /// <summary>The coarsest stride: input sizes must be multiples of it.</summary>
    public int OutputStride => Strides[^1];

    public override IReadOnlyList<Tensor> forward(Tensor x) => Forward(x, null);

    /// <param name="x">(B, 3, H, W) images.</param>
    /// <param name="afterLevel">Optional hook (level index, level output) → the feature passed on and returned.</param>
    /// <returns>(B, Channels[l], H/Strides[l], W/Strides[l]) for every level l, finest first.</returns>
    public abstract IReadOnlyList<Tensor> Forward(Tensor x, Func<int, Tensor, Tensor>? afterLevel);

    /// <summary>Runs <paramref name="levels"/> in order after the stem output <paramref name="y"/>, applying the hook after each.</summary>
    protected static IReadOnlyList<Tensor> RunLevels(Tensor y, IReadOnlyList<nn.Module<Tensor, Tensor>> levels, Func<int, Tensor, Tensor>? afterLevel)
    {
        var features = new Tensor[levels.Count];
        for (int i = 0; i < levels.Count; i++)
        {
            y = levels[i].call(y);
            if (afterLevel is not null) y = afterLevel(i, y);
            features[i] = y;
        }
        return features;
    }
}
