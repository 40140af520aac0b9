using SegCluster.Vision.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Normalization;

/// <summary>
/// BatchNorm whose training statistics span every rank of the data-parallel group: W ranks with batch b
/// normalise exactly as one rank with batch W·b (mean and variance over all W·b·H·W pixels, gradients through
/// both), and running statistics stay identical on every rank. The mean and the squared deviations are
/// summed with <see cref="DifferentiableAllReduce"/> (two passes, as stable as one rank's variance), so
/// backward reduces the two per-channel gradient sums the same way. The state (weight, bias, running
/// statistics, num_batches_tracked) is BatchNorm2d's, so checkpoints move between the two. Without a group,
/// with one rank, or in eval mode it is <see cref="StableBatchNorm2d"/>.
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
        var (hi, lo) = ExactCount.ToParts(localCount);
        float[] count = [hi, lo];  // summed on the host side of the all-reduce: no upload, and n is read without a device sync
        var sum = group.Sum(x.sum([0, 2, 3]), count);
        var n = ExactCount.FromParts(count[0], count[1]);
        if (n < 2)
            throw TooFewValues($"SyncBatchNorm over all {group.WorldSize} ranks has {n} value per channel");

        using var inverseCount = (1.0 / n).ToScalar();
        var mean = sum.mul(inverseCount);
        var centered = x.sub(mean.view(1, c, 1, 1));
        var variance = group.Sum(centered.pow(KeptScalars.Two).sum([0, 2, 3])).mul(inverseCount);
        using var epsilon = eps.ToScalar();  // the live property, held for the native call (KeptScalars)
        var scale = variance.add(epsilon, KeptScalars.One).rsqrt().mul(weight!);
        var y = centered.mul(scale.view(1, c, 1, 1)).add(bias!.view(1, c, 1, 1), KeptScalars.One);
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
