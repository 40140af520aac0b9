using SegCluster.Vision.Data;
using SegCluster.Vision.Models.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Debiasing;

/// <summary>
/// Class-suppression training (Chu, Kim, Han, NeurIPS 2021; PAPERS.md §4, the authors' DropClass code),
/// model-agnostic: wraps any <see cref="SegmentationModel"/> that exposes its pre-classifier feature A
/// (<see cref="SegmentationOutput.Feature"/>) and its 1×1 classifier (<see cref="SegmentationModel.Head"/>).
/// Class k's channel importance is ReLU(W_k). Each training forward, with probability
/// p = min(1, <see cref="Epoch"/> / E_end), one class d is sampled; A_drop = A ⊙ mean_{k≠d} ReLU(W_k)
/// (channel-wise; with nothing dropped the mean runs over all K), then an extra 1×1 conv + BN + ReLU
/// and the SAME classifier give the drop-branch logits. <see cref="SegmentationOutput.Logits"/> is always
/// the drop branch (at inference with nothing dropped, as in the authors' code); in training mode
/// <see cref="SegmentationOutput.Suppression"/> carries the plain logits, d and λ for
/// <see cref="Losses.ClassSuppressionCriterion"/>. As in the authors' code W is not detached: the mask
/// passes gradient to the classifier.
/// </summary>
public sealed class ClassSuppressionNet : SegmentationModel
{
    private readonly SegmentationModel inner;
    private readonly nn.Module<Tensor, Tensor> suppression;
    private readonly double[]? _cumulative;

    /// <param name="inner">The model to wrap; it must expose <see cref="SegmentationModel.Head"/> and set <see cref="SegmentationOutput.Feature"/>.</param>
    public ClassSuppressionNet(SegmentationModel inner, ClassSuppressionOptions options)
        : base(nameof(ClassSuppressionNet), (inner ?? throw new ArgumentNullException(nameof(inner))).Options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(inner.NumClasses);
        var head = inner.Head ?? throw new ArgumentException(
            $"{inner.GetType().Name} exposes no 1×1 classifier head (SegmentationModel.Head is null); class suppression needs one.", nameof(inner));
        int channels = (int)head.Weight.shape[1];
        this.inner = inner;
        suppression = nn.Sequential(
            ("conv", nn.Conv2d(channels, channels, kernel_size: 1)),
            ("norm", Layers.Norm(inner.Options.Norm, channels)),  // the model's norm: SyncBN ranks must share its statistics too
            ("relu", nn.ReLU()));
        Suppression = options;
        DropShares = options.DropShares(inner.NumClasses);
        if (options.ClassFrequencies is not null)
        {
            double run = 0;
            _cumulative = DropShares.Select(x => run += x).ToArray();
        }
        RegisterComponents();
    }

    public override SegmentationModel CreateUntrained() => new ClassSuppressionNet(inner.CreateUntrained(), Suppression);

    /// <summary>The scheme's spec.</summary>
    public ClassSuppressionOptions Suppression { get; }

    /// <summary>Each class's share of the drops (<see cref="ClassSuppressionOptions.DropShares"/>); K values summing to 1.</summary>
    public IReadOnlyList<double> DropShares { get; }

    /// <summary>Training progress in (fractional) epochs: sets p and λ, and keys the dropped class. Set it once per optimizer
    /// step (<c>LossSchedule</c>: steps done / steps per epoch); every training forward at one value drops the same class.</summary>
    public double Epoch { get; set; }

    /// <summary>p = min(1, epoch / E_end).</summary>
    public double DropProbability => Math.Clamp(Epoch / Suppression.EndEpoch, 0, 1);

    /// <summary>λ = max(0, 1 − epoch / E).</summary>
    public double PlainWeight => Math.Clamp(1 - Epoch / Suppression.TotalEpochs, 0, 1);

    /// <inheritdoc/>
    public override int OutputStride => inner.OutputStride;

    /// <inheritdoc/>
    public override SegmentationHead Head => inner.Head!;

    /// <inheritdoc/>
    protected override SegmentationOutput Compute(Tensor images, long[] size) => Suppress(images, size, training ? SampleDroppedClass() : -1);

    /// <summary>Forward with an explicit dropped class d (−1: none); tests and analyses use it directly.</summary>
    public SegmentationOutput Forward(Tensor images, int droppedClass)
    {
        if (droppedClass < -1 || droppedClass >= NumClasses)
            throw new ArgumentOutOfRangeException(nameof(droppedClass), droppedClass, $"must be -1 (none) or a class in [0, {NumClasses}).");
        using var scope = NewDisposeScope();
        return Suppress(images, LogitSize(images), droppedClass).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The drop branch's channel mask (PAPERS.md §4): mean_{k≠d} ReLU(W_k), the kept classes' mean channel importance, where
    /// ReLU(W_k) is class k's importance; with nothing dropped (d = −1) the mean runs over all K classes.
    /// </summary>
    /// <param name="weight">W, the classifier's weight (K, D, 1, 1), with autograd: as in the authors' code it is not detached,
    /// so the mask passes gradient to the classifier.</param>
    /// <param name="droppedClass">d in [0, K), or −1 for none.</param>
    /// <returns>(1, D, 1, 1).</returns>
    public static Tensor ChannelMask(Tensor weight, int droppedClass)
    {
        ArgumentNullException.ThrowIfNull(weight);
        long classes = weight.shape[0];
        if (droppedClass < -1 || droppedClass >= classes)
            throw new ArgumentOutOfRangeException(nameof(droppedClass), droppedClass, $"must be -1 (none) or a class in [0, {classes}).");
        using var scope = NewDisposeScope();
        var importance = nn.functional.relu(weight);                        // (K, D, 1, 1)
        var keep = ones(classes, 1, 1, 1, device: importance.device);       // (K, 1, 1, 1)
        if (droppedClass >= 0) keep[droppedClass] = zeros(1, 1, 1, device: importance.device);
        return ((importance * keep).sum(0, keepdim: true) / keep.sum()).MoveToOuterDisposeScope();
    }

    /// <summary>Both branches, inside the caller's dispose scope.</summary>
    private SegmentationOutput Suppress(Tensor images, long[] size, int droppedClass)
    {
        var plain = inner.call(images);
        var feature = plain.Feature ?? throw new InvalidOperationException(
            $"{inner.GetType().Name} did not set SegmentationOutput.Feature; class suppression needs the pre-classifier feature.");
        var head = inner.Head!;
        var mask = ChannelMask(head.Weight, droppedClass);               // (1, D, 1, 1)
        var suppressed = suppression.call(feature * mask);               // (B, D, h, w)
        var logits = head.call(suppressed, LogitSize(images));           // (B, K, H, W); the inner model's label grid in training

        return new SegmentationOutput(logits, plain.Auxiliary)
        {
            Feature = suppressed,
            Suppression = training ? new ClassSuppressionBranch(plain.Logits, droppedClass, PlainWeight) : null,
        };
    }

    /// <summary>
    /// The draw is a function of (seed, epoch) only, not of a generator's history or of how many forwards ran: the k
    /// micro-batches of an accumulated step (one epoch value) drop the same class, as one k-times larger batch would
    /// (PAPERS.md §4: one class d per iteration); ranks sharing the seed drop the same class; a run resumed from a
    /// checkpoint sets the epoch of its next step and drops the class the uninterrupted run dropped.
    /// </summary>
    private int SampleDroppedClass()
    {
        long epochBits = BitConverter.DoubleToInt64Bits(Epoch);
        // index 0: a step's first forward drew with it before micro-batches shared the draw, so runs without accumulation keep their classes.
        var random = new SplitMixRandom(Suppression.Seed, (int)(epochBits ^ (epochBits >> 32)), 0);
        if (random.NextDouble() >= DropProbability) return -1;
        if (_cumulative is null) return random.NextInt(NumClasses);
        double u = random.NextDouble();
        int k = Array.FindIndex(_cumulative, c => u < c);
        return k < 0 ? NumClasses - 1 : k;
    }
}
