using SegCluster.Vision.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Normalization;

/// <summary>
/// y = x·a + b per channel, a = γ·invstd and b = β − mean·a, with the group's mean and invstd = 1/√(var + ε) given, and
/// the backward of batch normalisation over the whole group (PyTorch's SyncBatchNorm): with the means over all n
/// pixels of the group, dx = γ·invstd·(dy − mean(dy) − (x − mean)·invstd²·mean(dy·(x − mean))), dγ = Σ dy·(x − mean)·invstd
/// and dβ = Σ dy over this rank. That is the gradient autograd takes through mean and variance, in one all-reduce of the
/// 2C per-channel sums and three passes over x instead of a graph of some ten; forward is one pass, and only x is kept.
/// </summary>
internal sealed class SyncBatchNormFunction : autograd.SingleTensorFunction<SyncBatchNormFunction>
{
    private const string CountKey = "n";
    private const string GroupKey = "group";
    private static readonly long[] Reduced = [0, 2, 3];

    public override string Name => "SegClusterSyncBatchNorm";

    /// <param name="x">(B, C, H, W).</param>
    /// <param name="mean">(C), over the group, without a graph.</param>
    /// <param name="invstd">(C), 1/√(var + ε) over the group, without a graph.</param>
    /// <param name="n">Pixels per channel over the group.</param>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor bias, Tensor mean, Tensor invstd, double n, DifferentiableAllReduce group) =>
        apply(x, weight, bias, mean, invstd, n, group);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (x, weight, bias, mean, invstd) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], (Tensor)vars[4]);
        ctx.save_for_backward([x, weight, mean, invstd]);
        ctx.save_data(CountKey, vars[5]);
        ctx.save_data(GroupKey, vars[6]);
        using var scope = NewDisposeScope();
        var scale = weight.mul(invstd);  // a (C)
        var shift = bias.sub(mean.mul(scale));  // b (C)
        return addcmul(PerChannel(shift), x, PerChannel(scale), KeptScalars.One).MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor dy)
    {
        // As DifferentiableAllReduce's backward: on CUDA autograd calls from a thread with no DisposeScope, so everything
        // made here but the returned gradients, and the incoming gradient's wrapper, is released now.
        using var incoming = dy;
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var (x, weight, mean, invstd) = (saved[0], saved[1], saved[2], saved[3]);
        var n = (double)ctx.get_data(CountKey);
        var group = (DifferentiableAllReduce)ctx.get_data(GroupKey);
        var c = x.shape[1];

        var centered = x.sub(PerChannel(mean));  // (B, C, H, W)
        var sumDy = dy.sum(Reduced);  // (C), this rank's
        var sumDyCentered = dy.mul(centered).sum(Reduced);  // (C), this rank's
        var total = group.SumInBackward(cat([sumDy, sumDyCentered], 0));  // (2C), the group's; zeros after a failure
        using var inverseCount = (1.0 / n).ToScalar();
        var meanDy = total.narrow(0, 0, c).mul(inverseCount);
        var meanDyCentered = total.narrow(0, c, c).mul(inverseCount);

        var gain = weight.mul(invstd);  // γ·invstd (C)
        var centeredGain = gain.mul(invstd.square()).mul(meanDyCentered).neg();  // −γ·invstd³·mean(dy·(x − mean))
        var dx = centered.mul_(PerChannel(centeredGain)).addcmul_(dy, PerChannel(gain), KeptScalars.One)
            .sub_(PerChannel(gain.mul(meanDy)));
        var dWeight = sumDyCentered.mul(invstd);
        return [dx.MoveToOuterDisposeScope(), dWeight.MoveToOuterDisposeScope(), sumDy.MoveToOuterDisposeScope(), null!, null!, null!, null!];
    }

    /// <summary>(C) as (1, C, 1, 1), to broadcast over (B, C, H, W).</summary>
    private static Tensor PerChannel(Tensor t) => t.view(1, -1, 1, 1);
}
