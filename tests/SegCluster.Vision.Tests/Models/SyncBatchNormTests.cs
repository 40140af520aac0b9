using SegCluster.Vision.Models.Normalization;
using SegCluster.Vision.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

/// <summary>
/// SyncBatchNorm2d on its own: W ranks with batch b give the outputs, input gradients, parameter gradients
/// (summed over ranks, as the trainer's all-reduce does) and running statistics of one BatchNorm over W·b.
/// </summary>
public sealed class SyncBatchNormTests
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData(2, 2, 4, 4)]
    [InlineData(3, 1, 2, 2)]
    [InlineData(2, 2, 1, 1)]
    public void Ranks_normalise_as_one_batch(int worldSize, int perRank, int height, int width)
    {
        const int channels = 3;
        manual_seed(11);
        var input = randn(worldSize * perRank, channels, height, width).mul(2.0).add(0.5);
        var upstream = randn(worldSize * perRank, channels, height, width);
        AssertMatchesOneBatchNorm(Enumerable.Repeat(perRank, worldSize).ToArray(), input, upstream);
    }

    /// <summary>The output is x·a + b with per-channel a and b, and the group variance is combined from each rank's mean and
    /// variance; against float64 batch_norm over the whole batch, on channels whose mean is 40× their spread (where a
    /// one-pass E[x²] − mean² variance would lose digits in float32), output and gradients agree to float32 rounding.</summary>
    [Fact]
    public void Matches_float64_batch_norm_when_the_mean_dwarfs_the_spread()
    {
        const int worldSize = 2, channels = 3;
        manual_seed(7);
        var offsets = tensor(new[] { 20f, -20f, 5f }).view(1, channels, 1, 1);
        var input = randn(4, channels, 3, 5).mul(0.5).add(offsets);
        var upstream = randn(4, channels, 3, 5);

        var x = input.to(ScalarType.Float64).requires_grad_(true);
        var weight = tensor(new[] { 1.5, 0.5, -1.0 }).requires_grad_(true);
        var bias = tensor(new[] { 0.1, -0.2, 0.3 }).requires_grad_(true);
        var y = nn.functional.batch_norm(x, null, null, weight, bias, training: true, eps: 1e-5);
        y.mul(upstream.to(ScalarType.Float64)).sum().backward();

        var (_, output, inputGrad, weightGrad, biasGrad) = TrainOneStep(worldSize, input, upstream);

        AssertClose(y, output, "output");
        AssertClose(x.grad!, inputGrad, "input gradient");
        AssertClose(weight.grad!, weightGrad, "weight gradient");
        AssertClose(bias.grad!, biasGrad, "bias gradient");
    }

    /// <summary>Forward gathers every rank's (Σx, Σ(x − its mean)², pixel count) in one sum of W·2C values and 2W host values
    /// (each rank fills its own row), backward sums Σdy and Σdy·(x − mean) together: two all-reduces per layer per step,
    /// where the forward used to take two (Σx with the count, then Σ(x − mean)²) and autograd through the statistics four.</summary>
    [Fact]
    public void A_step_sums_once_in_forward_and_once_in_backward()
    {
        const int channels = 3, worldSize = 2;
        var reducer = new RecordingMirror();
        using var norm = new SyncBatchNorm2d(channels) { Group = new DifferentiableAllReduce(reducer) };
        using var scope = NewDisposeScope();
        var x = randn(2, channels, 4, 4).requires_grad_(true);

        var y = norm.forward(x);
        Assert.Equal([worldSize * (2 * channels + 2)], reducer.Lengths);
        y.mul(randn(2, channels, 4, 4)).sum().backward();
        Assert.Equal([worldSize * (2 * channels + 2), 2 * channels], reducer.Lengths);
    }

    /// <summary>Ranks with different batches (1 and 3 images) weigh each rank's mean by its own count: outputs, gradients and
    /// running statistics of one BatchNorm over the 4.</summary>
    [Fact]
    public void Ranks_with_uneven_batches_normalise_as_one_batch()
    {
        const int channels = 3;
        int[] batches = [1, 3];  // 6 and 18 pixels per channel
        manual_seed(13);
        var input = randn(4, channels, 3, 2).mul(1.5).add(2.0);
        var upstream = randn(4, channels, 3, 2);
        AssertMatchesOneBatchNorm(batches, input, upstream);
    }

    [Fact]
    public void State_dict_matches_BatchNorm2d_so_checkpoints_move_between_them()
    {
        using var plain = nn.BatchNorm2d(4);
        using var sync = new SyncBatchNorm2d(4);
        Assert.Equal(plain.state_dict().Keys.Order(), sync.state_dict().Keys.Order());
        sync.load_state_dict(plain.state_dict());
    }

    [Fact]
    public void Eval_mode_uses_the_running_statistics()
    {
        using var plain = nn.BatchNorm2d(2);
        using var sync = new SyncBatchNorm2d(2) { Group = new DifferentiableAllReduce(new InMemoryReducerGroup(2)[0]) };  // a peer never arrives: eval must not call it
        using (no_grad())
        {
            plain.buffers().ElementAt(0).copy_(tensor(new[] { 0.5f, -1f }));
            plain.buffers().ElementAt(1).copy_(tensor(new[] { 4f, 0.25f }));
        }
        sync.load_state_dict(plain.state_dict());
        plain.eval();
        sync.eval();
        var x = randn(2, 2, 3, 3);
        AssertClose(plain.forward(x), sync.forward(x), "eval output");
    }

    /// <summary>PyTorch reads momentum on every call (fine-tuning often lowers it after construction) and, when it is null,
    /// keeps a cumulative average; the synced path froze the constructor's 0.1 for the mean and mixed it with the new value
    /// for the variance, and threw on null. Both paths, two steps, against the formulas over the whole batch.</summary>
    [Theory]
    [InlineData(0.01)]
    [InlineData(null)]
    public void Running_statistics_follow_the_momentum_set_after_construction(double? momentum)
    {
        const int channels = 2, worldSize = 2;
        manual_seed(5);
        var batches = new[] { randn(4, channels, 3, 3).mul(2.0).add(1.0), randn(4, channels, 3, 3).sub(0.5) };
        var (expectedMean, expectedVar) = (zeros(channels, dtype: ScalarType.Float64), ones(channels, dtype: ScalarType.Float64));
        for (int step = 0; step < batches.Length; step++)
        {
            var x = batches[step].to(ScalarType.Float64);
            var m = momentum ?? 1.0 / (step + 1);
            expectedMean = expectedMean.mul(1 - m).add(x.mean([0, 2, 3]).mul(m));
            expectedVar = expectedVar.mul(1 - m).add(x.var([0, 2, 3], unbiased: true).mul(m));
        }

        var group = new InMemoryReducerGroup(worldSize);
        var norms = new SyncBatchNorm2d[worldSize];
        var threads = Enumerable.Range(0, worldSize).Select(r => new Thread(() =>
        {
            norms[r] = new SyncBatchNorm2d(channels) { Group = new DifferentiableAllReduce(group[r]), momentum = momentum };
            foreach (var batch in batches) norms[r].forward(batch.narrow(0, r * 2, 2));
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        using var single = new SyncBatchNorm2d(channels) { momentum = momentum };  // no group: the per-rank path
        foreach (var batch in batches) single.forward(batch);

        foreach (var norm in norms.Append(single))
        {
            AssertClose(expectedMean, norm.running_mean!.to(ScalarType.Float64), "running mean");
            AssertClose(expectedVar, norm.running_var!.to(ScalarType.Float64), "running variance");
        }
    }

    /// <summary>Ranks taking <paramref name="batches"/>[r] images each give the outputs, input gradients, parameter gradients
    /// (summed over ranks) and running statistics of one nn.BatchNorm2d over the whole batch.</summary>
    private static void AssertMatchesOneBatchNorm(int[] batches, Tensor input, Tensor upstream)
    {
        using var reference = nn.BatchNorm2d(input.shape[1]);
        InitAffine(reference.parameters().ToArray());
        var x = input.clone().requires_grad_(true);
        var y = reference.forward(x);
        y.mul(upstream).sum().backward();

        var (norms, output, inputGrad, weightGrad, biasGrad) = TrainOneStep(batches, input, upstream);

        AssertClose(y, output, "output");
        AssertClose(x.grad!, inputGrad, "input gradient");
        AssertClose(reference.parameters().First().grad!, weightGrad, "weight gradient");
        AssertClose(reference.parameters().Last().grad!, biasGrad, "bias gradient");
        foreach (var norm in norms)
            foreach (var (expected, actual) in reference.buffers().Zip(norm.buffers()))
                AssertClose(expected.to(ScalarType.Float64), actual.to(ScalarType.Float64), "running statistics");
    }

    /// <summary>One forward and backward of <paramref name="input"/> split over <paramref name="worldSize"/> ranks of an in-memory
    /// group (weight and bias from <see cref="InitAffine"/>): the outputs and input gradients concatenated, and the parameter
    /// gradients summed over ranks, as the trainer's all-reduce does.</summary>
    private static (SyncBatchNorm2d[] Norms, Tensor Output, Tensor InputGrad, Tensor WeightGrad, Tensor BiasGrad) TrainOneStep(
        int worldSize, Tensor input, Tensor upstream) =>
        TrainOneStep(Enumerable.Repeat((int)input.shape[0] / worldSize, worldSize).ToArray(), input, upstream);

    /// <summary>As above, rank r taking the next <paramref name="batches"/>[r] images.</summary>
    private static (SyncBatchNorm2d[] Norms, Tensor Output, Tensor InputGrad, Tensor WeightGrad, Tensor BiasGrad) TrainOneStep(
        int[] batches, Tensor input, Tensor upstream)
    {
        int worldSize = batches.Length;
        long channels = input.shape[1];
        var starts = batches.Select((_, r) => (long)batches.Take(r).Sum()).ToArray();
        var group = new InMemoryReducerGroup(worldSize);
        var outputs = new Tensor[worldSize];
        var inputGrads = new Tensor[worldSize];
        var norms = new SyncBatchNorm2d[worldSize];
        var threads = Enumerable.Range(0, worldSize).Select(r => new Thread(() =>
        {
            norms[r] = new SyncBatchNorm2d(channels) { Group = new DifferentiableAllReduce(group[r]) };
            InitAffine(norms[r].parameters().ToArray());
            var part = input.narrow(0, starts[r], batches[r]).clone().requires_grad_(true);
            outputs[r] = norms[r].forward(part);
            outputs[r].mul(upstream.narrow(0, starts[r], batches[r])).sum().backward();
            inputGrads[r] = part.grad!;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var weightGrad = norms.Select(n => n.parameters().First().grad!).Aggregate((a, b) => a + b);
        var biasGrad = norms.Select(n => n.parameters().Last().grad!).Aggregate((a, b) => a + b);
        return (norms, cat(outputs, 0), cat(inputGrads, 0), weightGrad, biasGrad);
    }

    /// <summary>Rank 0 of two whose peer holds the same values (every sum doubles), recording each sum's length.</summary>
    private sealed class RecordingMirror : IGradientReducer
    {
        public List<int> Lengths { get; } = [];

        public int Rank => 0;

        public int WorldSize => 2;

        public void Sum(Memory<float> buffer)
        {
            Lengths.Add(buffer.Length);
            foreach (ref var value in buffer.Span) value *= 2;
        }
    }

    private static void InitAffine(Tensor[] parameters)
    {
        using var noGrad = no_grad();
        parameters[0].copy_(tensor(new[] { 1.5f, 0.5f, -1f }.Take((int)parameters[0].shape[0]).ToArray()));
        parameters[1].copy_(tensor(new[] { 0.1f, -0.2f, 0.3f }.Take((int)parameters[1].shape[0]).ToArray()));
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        var e = expected.detach().to(ScalarType.Float64);
        var a = actual.detach().to(ScalarType.Float64);
        var error = (e - a).abs().max().item<double>() / Math.Max(1e-12, e.abs().max().item<double>());
        Assert.True(error < Tolerance, $"{what}: max |Δ| / max |expected| = {error:E2}");
    }
}
