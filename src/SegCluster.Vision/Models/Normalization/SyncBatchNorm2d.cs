using SegCluster.Vision.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Normalization;

/// <summary>
/// BatchNorm whose training statistics span every rank of the data-parallel group: W ranks with batch b
/// normalise exactly as one rank with batch W·b (mean and variance over all W·b·H·W pixels, gradients through
/// both), and running statistics stay identical on every rank. Forward is ONE all-reduce per layer, as PyTorch's
/// SyncBatchNorm all-gathers each rank's statistics once: every rank sends its per-channel sum and sum of squared deviations
/// from its own mean (two passes over its pixels, as stable as one rank's variance) with its pixel count, and every rank
/// combines the gathered rows identically (Chan et al.'s parallel variance); <see cref="SyncBatchNormFunction"/>'s backward
/// all-reduces the per-channel sums of dy and dy·(x − mean) once. Across node processes each all-reduce is a latency-bound
/// ring round trip, so the count of them, not their bytes, is the cost. The state (weight, bias, running statistics, num_batches_tracked) is BatchNorm2d's, so checkpoints move
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
            // This rank's Σx and M2 = Σ(x − its mean)²: two passes over its own pixels; the deviations (B, C, H, W) are
            // squared in place and freed at once (backward keeps only x).
            var sum = x.sum([0, 2, 3]);  // (C)
            using var inverseLocalCount = (localCount > 0 ? 1.0 / localCount : 0.0).ToScalar();
            Tensor squares;
            using (var deviations = x.sub(sum.mul(inverseLocalCount).view(1, c, 1, 1)))
                squares = deviations.mul_(deviations).sum([0, 2, 3]);  // (C)
            // This rank's count rides in its own host slots as two float parts, exact above 2^24 pixels, and every rank's
            // count is read from host memory. Rows: (W, Σx (C), M2 (C), count hi, count lo), combined on the host.
            var (hi, lo) = ExactCount.ToParts(localCount);
            var rows = group.GatherWithoutGradient(cat([sum, squares], 0), [hi, lo]);
            (n, var statistics) = Combine(rows, (int)c, group.WorldSize);
            if (n < 2)
                throw TooFewValues($"SyncBatchNorm over all {group.WorldSize} ranks has {n} value per channel");
            // (2C): the group's mean then biased variance, in one upload (the two all-reduces uploaded one each).
            var both = torch.tensor(statistics, dtype: ScalarType.Float64, device: x.device).to(x.dtype);
            mean = both.narrow(0, 0, c);
            variance = both.narrow(0, c, c);
        }
        using var epsilon = eps.ToScalar();  // the live property, held for the native call (KeptScalars)
        var invstd = variance.add(epsilon, KeptScalars.One).rsqrt();
        var y = SyncBatchNormFunction.Apply(x, weight!, bias!, mean, invstd, n, group);
        UpdateRunningStatistics(mean, variance, n);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The group's statistics from the gathered rows (W, 2C + 2) of (Σx, M2 = Σ(x − m_r)², count hi, count lo), in float64
    /// and in rank order, so every rank gets the same bits: n = Σ n_r, mean = Σ s_r / n, and Chan, Golub and LeVeque's
    /// parallel variance M2 = Σ M2_r + Σ n_r (m_r − mean)² with m_r = s_r / n_r ("Updating formulae and a pairwise algorithm
    /// for computing sample variances", 1979, eq. 2.1), variance = M2 / n (biased, as BatchNorm normalises). A rank
    /// with no pixels adds nothing. Returns n and (2C) = (mean, variance).
    /// </summary>
    private static (double N, double[] MeanAndVariance) Combine(float[] rows, int channels, int worldSize)
    {
        int width = 2 * channels + 2;
        var counts = new double[worldSize];
        double n = 0;
        for (int r = 0; r < worldSize; r++)
            n += counts[r] = ExactCount.FromParts(rows[r * width + 2 * channels], rows[r * width + 2 * channels + 1]);
        var statistics = new double[2 * channels];
        for (int ch = 0; ch < channels; ch++)
        {
            double sum = 0;
            for (int r = 0; r < worldSize; r++) sum += rows[r * width + ch];
            double mean = sum / n, squares = 0;
            for (int r = 0; r < worldSize; r++)
            {
                if (counts[r] == 0) continue;
                double offset = rows[r * width + ch] / counts[r] - mean;  // m_r − mean
                squares += rows[r * width + channels + ch] + counts[r] * offset * offset;
            }
            statistics[ch] = mean;
            statistics[channels + ch] = squares / n;
        }
        return (n, statistics);
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
