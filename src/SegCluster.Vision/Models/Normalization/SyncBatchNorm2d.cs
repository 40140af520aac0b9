using SegCluster.Vision.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Normalization;

/// <summary>
/// BatchNorm whose training statistics span every rank of the data-parallel group: W ranks with batch b
/// normalise exactly as one rank with batch W·b (mean and variance over all W·b·H·W pixels, gradients through
/// both), and running statistics stay identical on every rank. The sums of x and then of the squared deviations from the
/// group's mean are all-reduced with <see cref="DifferentiableAllReduce"/> (two passes, as stable as one rank's
/// variance), and <see cref="SyncBatchNormFunction"/>'s backward all-reduces the per-channel sums of dy and dy·(x − mean)
/// once. The state (weight, bias, running statistics, num_batches_tracked) is BatchNorm2d's, so checkpoints move
/// between the two. Without a group, with one rank, or in eval mode it is <see cref="StableBatchNorm2d"/>.
/// </summary>
public sealed class SyncBatchNorm2d(long channels, double eps = 1e-5, double momentum = 0.1)
    : StableBatchNorm2d(channels, eps, momentum, nameof(SyncBatchNorm2d))
{
    public long Channels { get; } = channels;

    /// <summary>The sum over the group whose statistics are shared; set by the trainer (<see cref="Attach"/>), which throws
    /// what its backward could not (<see cref="DifferentiableAllReduce.ThrowIfBackwardFailed"/>). Null: per-rank BatchNorm.</summary>
    public DifferentiableAllReduce? Group { get; set; }

    /// <summary>Points every SyncBatchNorm2d of <paramref name="model"/> at <paramref name="group"/>; returns how many.</summary>
    public static int Attach(nn.Module model, DifferentiableAllReduce? group)
    {
        var norms = model.modules().OfType<SyncBatchNorm2d>().ToList();
        foreach (var norm in norms) norm.Group = group;
        return norms.Count;
    }

    /// <param name="x">(B, C, H, W).</param>
    public override Tensor forward(Tensor x)
    {
        if (!training || Group is null || Group.WorldSize == 1)
            return base.forward(x);
        ValidateInputDimensions(x);

        var group = Group;
        var c = x.shape[1];
        long localCount = x.shape[0] * x.shape[2] * x.shape[3];
        using var scope = NewDisposeScope();
        Tensor mean, variance;
        double n;
        using (no_grad())  // SyncBatchNormFunction's backward differentiates through both statistics
        {
            var (hi, lo) = ExactCount.ToParts(localCount);
            float[] count = [hi, lo];  // summed on the host side of the all-reduce: no upload, and n is read without a device sync
            var sum = group.SumWithoutGradient(x.sum([0, 2, 3]), count);
            n = ExactCount.FromParts(count[0], count[1]);
            if (n < 2)
                throw TooFewValues($"SyncBatchNorm over all {group.WorldSize} ranks has {n} value per channel");
            using var inverseCount = (1.0 / n).ToScalar();
            mean = sum.mul(inverseCount);
            // Two passes (deviations from the group's mean), as stable as one rank's variance; (B, C, H, W), squared in
            // place and freed at once: backward keeps only x.
            using (var deviations = x.sub(mean.view(1, c, 1, 1)))
                variance = group.SumWithoutGradient(deviations.mul_(deviations).sum([0, 2, 3]), []).mul(inverseCount);
        }
        using var epsilon = eps.ToScalar();  // the live property, held for the native call (KeptScalars)
        var invstd = variance.add(epsilon, KeptScalars.One).rsqrt();
        var y = SyncBatchNormFunction.Apply(x, weight!, bias!, mean, invstd, n, group);
        UpdateRunningStatistics(mean, variance, n);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>PyTorch's update: r ← (1 − m)·r + m·batch, with the unbiased variance n/(n−1); m is the live momentum, or
    /// the cumulative average when it is null (<see cref="StableBatchNorm2d.UpdateFactor"/>).</summary>
    private void UpdateRunningStatistics(Tensor mean, Tensor variance, double n)
    {
        using var noGrad = no_grad();
        double m = UpdateFactor(counted: false);
        using var keep = (1 - m).ToScalar();
        using var take = m.ToScalar();
        using var unbiased = (m * n / (n - 1)).ToScalar();
        running_mean!.mul_(keep).add_(mean.detach(), take);
        running_var!.mul_(keep).add_(variance.detach(), unbiased);
        num_batches_tracked!.add_(KeptScalars.One, KeptScalars.One);
    }
}
