using SegCluster.Vision.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models;

/// <summary>
/// BatchNorm2d as TorchSharp 0.107's, with the same state keys (weight, bias, running_mean, running_var,
/// num_batches_tracked) and PyTorch semantics, but counting batches with a Scalar that stays alive.
/// TorchSharp's BatchNorm.forward runs <c>num_batches_tracked.add_(1)</c>: the temporary Scalar for 1 is
/// unreachable during the native call, and a finalizer run under GC pressure freed it mid-call. Observed
/// here: "Unknown scalar type" from at::native::add_ inside BatchNorm.forward, 30 minutes into a scribble
/// experiment (PaperExperiments), the same family as the Scalar::toFloat failures <see cref="Layers.Add"/> works around.
/// </summary>
public class StableBatchNorm2d : NormBase
{

    public StableBatchNorm2d(long channels, double eps = 1e-5, double momentum = 0.1)
        : this(channels, eps, momentum, nameof(StableBatchNorm2d)) { }

    protected StableBatchNorm2d(long channels, double eps, double momentum, string name)
        : base(channels, eps, momentum, affine: true, track_running_stats: true, device: null, dtype: null, name: name) { }

    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 4)
            throw new ArgumentException($"expected (B, C, H, W) input, got {input.ndim} dimensions.", nameof(input));
    }

    /// <param name="input">(B, C, H, W).</param>
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        // PyTorch's Python BatchNorm refuses this too; ATen's batch_norm does not, and its unbiased running variance
        // divides by n − 1 = 0: NaN running_var, so every evaluation output is NaN while training looks fine (DeepLabV3+'s
        // pooled ASPP branch is (B, C, 1, 1): any batch of one image).
        if (training && input.shape[0] * input.shape[2] * input.shape[3] < 2)
            throw TooFewValues($"BatchNorm over {input.shape[0]}×{input.shape[2]}×{input.shape[3]} = 1 value per channel");
        if (training) num_batches_tracked!.add_(KeptScalars.One, KeptScalars.One);  // value and alpha: add_(Scalar) makes a temporary alpha Scalar too
        // Training: batch statistics, running ones updated with the momentum; eval: running statistics.
        return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training, training ? UpdateFactor(counted: true) : 0, eps);
    }

    /// <summary>Training-mode batch statistics of <paramref name="what"/> (a count of 1 value per channel): a setting to change, named.</summary>
    protected static RunSettingException TooFewValues(string what) => new(
        $"{what} in training: batch statistics need at least 2 (a batch of one image through a 1×1 feature, e.g. DeepLabV3+'s " +
        "image pooling). Raise training.batch_per_worker (at least 2 per accumulation step) or set model.norm to gn.");

    /// <summary>The running statistics' update factor, as PyTorch's: <c>momentum</c>, read on every call (a fine-tuning run
    /// may set it after construction), or with momentum null the cumulative average 1 / batches counted.</summary>
    /// <param name="counted">Whether this batch is already in num_batches_tracked.</param>
    protected double UpdateFactor(bool counted) =>
        momentum ?? 1.0 / (num_batches_tracked!.item<long>() + (counted ? 0 : 1));
}
