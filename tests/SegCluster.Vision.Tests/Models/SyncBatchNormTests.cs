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

        using var reference = nn.BatchNorm2d(channels);
        InitAffine(reference.parameters().ToArray());
        var x = input.clone().requires_grad_(true);
        var y = reference.forward(x);
        y.mul(upstream).sum().backward();

        var group = new InMemoryReducerGroup(worldSize);
        var outputs = new Tensor[worldSize];
        var inputGrads = new Tensor[worldSize];
        var norms = new SyncBatchNorm2d[worldSize];
        var threads = Enumerable.Range(0, worldSize).Select(r => new Thread(() =>
        {
            norms[r] = new SyncBatchNorm2d(channels) { Group = new DifferentiableAllReduce(group[r]) };
            InitAffine(norms[r].parameters().ToArray());
            var part = input.narrow(0, r * perRank, perRank).clone().requires_grad_(true);
            outputs[r] = norms[r].forward(part);
            outputs[r].mul(upstream.narrow(0, r * perRank, perRank)).sum().backward();
            inputGrads[r] = part.grad!;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        AssertClose(y, cat(outputs, 0), "output");
        AssertClose(x.grad!, cat(inputGrads, 0), "input gradient");
        var weightGrad = norms.Select(n => n.parameters().First().grad!).Aggregate((a, b) => a + b);
        var biasGrad = norms.Select(n => n.parameters().Last().grad!).Aggregate((a, b) => a + b);
        AssertClose(reference.parameters().First().grad!, weightGrad, "weight gradient");
        AssertClose(reference.parameters().Last().grad!, biasGrad, "bias gradient");
        foreach (var norm in norms)
            foreach (var (expected, actual) in reference.buffers().Zip(norm.buffers()))
                AssertClose(expected.to(ScalarType.Float64), actual.to(ScalarType.Float64), "running statistics");
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
