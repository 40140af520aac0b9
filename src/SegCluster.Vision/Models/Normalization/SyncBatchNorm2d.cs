using SegCluster.Vision.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Normalization;

/// <summary>
/// BatchNorm whose training statistics span every rank of the data-parallel group: W ranks with batch b
/// normalise exactly as one rank with batch W·b (mean and variance over all W·b·H·W pixels, gradients through
/// both), and running statistics stay identical on every rank. The mean and the squared deviations are
/// summed with <see cref="DifferentiableAllReduce"/> (two passes, as numerically stable as one rank's
/// variance), so backward reduces the two per-channel gradient sums the same way. Parameter and buffer names
/// equal <c>BatchNorm2d</c>'s, so checkpoints move between the two. Without a group (or with one rank, or in
/// eval mode) it is plain BatchNorm.
/// </summary>
public sealed class SyncBatchNorm2d : nn.Module<Tensor, Tensor>
{
    // Pixel counts are split into hi·2^12 + lo so each part is an exact float32 integer after summing.
    private const long CountSplit = 1 << 12;

    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;
    private readonly double _eps;
    private readonly double _momentum;

    public SyncBatchNorm2d(long channels, double eps = 1e-5, double momentum = 0.1) : base(nameof(SyncBatchNorm2d))
    {
        Channels = channels;
        _eps = eps;
        _momentum = momentum;
        weight = nn.Parameter(ones(channels));
        bias = nn.Parameter(zeros(channels));
        running_mean = zeros(channels);
        running_var = ones(channels);
        num_batches_tracked = zeros(1, ScalarType.Int64).squeeze();
        register_parameter(nameof(weight), weight);
        register_parameter(nameof(bias), bias);
        register_buffer(nameof(running_mean), running_mean);
        register_buffer(nameof(running_var), running_var);
        register_buffer(nameof(num_batches_tracked), num_batches_tracked);
    }

    public long Channels { get; }

    /// <summary>The group whose statistics are shared; set by the trainer (<see cref="Attach"/>). Null: per-rank BatchNorm.</summary>
    public IGradientReducer? Group { get; set; }

    /// <summary>Points every SyncBatchNorm2d of <paramref name="model"/> at <paramref name="group"/>; returns how many.</summary>
    public static int Attach(nn.Module model, IGradientReducer? group)
    {
        var norms = model.modules().OfType<SyncBatchNorm2d>().ToList();
        foreach (var norm in norms) norm.Group = group;
        return norms.Count;
    }

    public override Tensor forward(Tensor x)
    {
        if (!training || Group is null || Group.WorldSize == 1)
            return nn.functional.batch_norm(x, running_mean, running_var, weight, bias, training, _momentum, _eps);

        var group = Group;
        var c = x.shape[1];
        long localCount = x.shape[0] * x.shape[2] * x.shape[3];
        using var scope = NewDisposeScope();
        using var counts = tensor(new float[] { localCount / CountSplit, localCount % CountSplit }, device: x.device).to(x.dtype);
        var sums = DifferentiableAllReduce.Sum(cat([x.sum([0, 2, 3]), counts], 0), group);
        var totals = sums.narrow(0, c, 2).to(ScalarType.Float64).cpu().data<double>().ToArray();
        var n = totals[0] * CountSplit + totals[1];
        if (n < 2)
            throw new InvalidOperationException($"SyncBatchNorm2d: {n} value(s) per channel over all ranks; batch statistics need at least 2.");

        using var inverseCount = (1.0 / n).ToScalar();
        var mean = sums.narrow(0, 0, c).mul(inverseCount);
        var centered = x - mean.view(1, c, 1, 1);
        var variance = DifferentiableAllReduce.Sum(centered.square().sum([0, 2, 3]), group).mul(inverseCount);
        using var eps = _eps.ToScalar();
        var scale = variance.add(eps).rsqrt().mul(weight);
        var y = centered.mul(scale.view(1, c, 1, 1)).add(bias.view(1, c, 1, 1));
        UpdateRunningStatistics(mean, variance, n);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>PyTorch's update: r ← (1 − m)·r + m·batch, with the unbiased variance n/(n−1).</summary>
    private void UpdateRunningStatistics(Tensor mean, Tensor variance, double n)
    {
        using var noGrad = no_grad();
        using var keep = (1 - _momentum).ToScalar();
        using var take = _momentum.ToScalar();
        using var unbiased = (_momentum * n / (n - 1)).ToScalar();
        using var one = 1.ToScalar();
        running_mean.mul_(keep).add_(mean.detach(), take);
        running_var.mul_(keep).add_(variance.detach(), unbiased);
        num_batches_tracked.add_(one);
    }
}
