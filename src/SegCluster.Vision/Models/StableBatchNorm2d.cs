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
        if (training) num_batches_tracked!.add_(KeptScalars.One, KeptScalars.One);  // value and alpha: add_(Scalar) makes a temporary alpha Scalar too
        // Training: batch statistics, running ones updated with the momentum; eval: running statistics.
        return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training, momentum ?? 0.1, eps);
    }
}
