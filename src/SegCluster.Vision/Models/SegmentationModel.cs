using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// Base of every segmentation network: (B, 3, H, W) images → <see cref="SegmentationOutput"/>.
/// Model code is single-device and knows nothing of distribution (STYLE.md habit 1).
/// Inputs must have H and W divisible by <see cref="OutputStride"/>.
/// </summary>
public abstract class SegmentationModel : nn.Module<Tensor, SegmentationOutput>
{
    protected SegmentationModel(string name, ModelOptions options) : base(name)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>The spec the model was built from.</summary>
    public ModelOptions Options { get; }

    /// <summary>K.</summary>
    public int NumClasses => Options.NumClasses;

    /// <summary>The coarsest encoder stride; input sizes must be multiples of it.</summary>
    public virtual int OutputStride => 16;

    /// <summary>The final 1×1 classifier head when the model ends in one (its input is
    /// <see cref="SegmentationOutput.Feature"/>); null otherwise. Seam for PAPERS.md §4.</summary>
    public virtual Heads.SegmentationHead? Head => null;

    /// <summary>
    /// Every convolution that produces class logits, found by structure (<see cref="Heads.IClassifierOwner"/>): the final
    /// head's classifier and auxiliary ones (SPG's prediction P); a wrapper's include its inner model's.
    /// </summary>
    public IReadOnlyList<TorchSharp.Modules.Conv2d> Classifiers =>
        modules().OfType<Heads.IClassifierOwner>().Select(owner => owner.Classifier).Distinct(ReferenceEqualityComparer.Instance)
            .Cast<TorchSharp.Modules.Conv2d>().ToList();

    /// <summary>
    /// A new, untrained model of the same architecture, wrappers included (the same state-dict keys and shapes): the
    /// contiguous twin a channels_last model's checkpoint is written and read through. Built without the encoder's
    /// pretrained file (<see cref="ModelOptions.BackboneWeights"/>): the twin carries the model's values, and the file may
    /// be large, or gone. Callers build it under <see cref="GlobalGenerator.Untouched"/>.
    /// </summary>
    public virtual SegmentationModel CreateUntrained() => ModelRegistry.Create(Options with { BackboneWeights = null });

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount => parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    /// <summary>Checks the input, runs <see cref="Compute"/> inside a dispose scope and moves the output's
    /// tensors out of it, so every network frees its intermediates the same way.</summary>
    /// <param name="images">(B, 3, H, W), H and W multiples of <see cref="OutputStride"/>.</param>
    public override SegmentationOutput forward(Tensor images)
    {
        CheckInput(images);
        using var scope = NewDisposeScope();
        return Compute(images, LogitSize(images)).MoveToOuterDisposeScope();
    }

    /// <summary>The network itself, called inside <see cref="forward"/>'s dispose scope: the returned tensors
    /// (each a distinct tensor) are moved out by the caller; everything else is freed.</summary>
    /// <param name="images">(B, 3, H, W), already checked.</param>
    /// <param name="size">The size of the logits: {H, W}, or {H/f, W/f} in training at label factor f (<see cref="LogitSize"/>).</param>
    protected abstract SegmentationOutput Compute(Tensor images, long[] size);

    /// <summary>
    /// [h, w] the logits are returned at: (H/f, W/f) in training mode with <see cref="ModelOptions.LogitFactor"/> f,
    /// (H, W) in eval mode, so the label grid of training costs no full-resolution logits while evaluation
    /// still predicts every pixel.
    /// </summary>
    protected long[] LogitSize(Tensor images)
    {
        long h = images.shape[2], w = images.shape[3];
        int f = Options.LogitFactor;
        if (!training || f == 1) return [h, w];
        if (h % f != 0 || w % f != 0)
            throw new ArgumentException($"ModelOptions.LogitFactor = {f} does not divide the input size {h}x{w}.", nameof(images));
        return [h / f, w / f];
    }

    /// <summary>
    /// The finest encoder level a decoder needs for label grid factor f: the first level of the largest
    /// stride ≤ f (level 0 when f is finer than every level). Decoder stages above it would only produce
    /// detail the label grid cannot supervise (PAPERS.md §2 "Efficient grid").
    /// </summary>
    protected static int DecoderStopLevel(IReadOnlyList<int> strides, int factor)
    {
        int target = strides.Where(s => s <= factor).DefaultIfEmpty(strides[0]).Max();
        return strides.ToList().IndexOf(target);
    }

    /// <summary>Throws an <see cref="ArgumentException"/> suggesting the padded size when the input does not fit the stride.</summary>
    protected void CheckInput(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"expected images of shape (B, 3, H, W), got ({string.Join(", ", images.shape)})", nameof(images));
        long h = images.shape[2], w = images.shape[3], s = OutputStride;
        if (h % s != 0 || w % s != 0)
            throw new ArgumentException(
                $"input size {h}x{w} is not divisible by the output stride {s}; pad it to {(h + s - 1) / s * s}x{(w + s - 1) / s * s}",
                nameof(images));
    }
}
