using SegCluster.Cluster.Training;
using SegCluster.Collectives;
using SegCluster.Vision.Models.Normalization;
using SegCluster.Vision.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Training;

/// <summary>
/// SyncBatchNorm2d through the real gRPC ring (two collective hosts on 127.0.0.1, one per rank, as on two nodes):
/// 2 ranks with batch b give the outputs, input and parameter gradients (summed over ranks, as the trainer's
/// all-reduce does) and running statistics of one BatchNorm over 2b, in training mode. Plain per-rank
/// BatchNorm is the control: it must differ, so the comparison can fail.
/// </summary>
public sealed class SyncBatchNormOverGrpcTests
{
    private const int Ranks = 2, PerRank = 2, Channels = 3, Height = 4, Width = 5;
    // Float32 sums of a few hundred values in another order: 1e-5 relative is ~100 ulps of headroom.
    private const double Tolerance = 1e-5;

    [Fact]
    public async Task Two_ranks_over_grpc_normalise_as_one_batch_and_plain_batchnorm_does_not()
    {
        var (input, upstream) = Data();
        var reference = RunReference(input, upstream);

        await using var host0 = await LoopbackCollectiveHost.StartAsync();
        await using var host1 = await LoopbackCollectiveHost.StartAsync();
        var hosts = new[] { host0, host1 };
        var group = new RingGroup("syncbn-grpc", [host0.Endpoint, host1.Endpoint]);
        var synced = await Task.WhenAll(Enumerable.Range(0, Ranks).Select(rank => Task.Factory.StartNew(
            () => RunRank(rank, input, upstream, group, hosts[rank].Mailbox), TaskCreationOptions.LongRunning)));
        var plain = Enumerable.Range(0, Ranks).Select(rank => RunRank(rank, input, upstream, group: null, mailbox: null)).ToArray();

        AssertClose(reference.Output, cat(synced.Select(r => r.Output).ToArray(), 0), "output");
        AssertClose(reference.InputGrad, cat(synced.Select(r => r.InputGrad).ToArray(), 0), "input gradient");
        AssertClose(reference.WeightGrad, synced[0].WeightGrad + synced[1].WeightGrad, "weight gradient");
        AssertClose(reference.BiasGrad, synced[0].BiasGrad + synced[1].BiasGrad, "bias gradient");
        foreach (var rank in synced)
        {
            AssertClose(reference.RunningMean, rank.RunningMean, "running mean");
            AssertClose(reference.RunningVar, rank.RunningVar, "running variance");
        }

        Assert.True(RelativeError(reference.Output, cat(plain.Select(r => r.Output).ToArray(), 0)) > 1e-2, "plain BN output should differ");
        Assert.True(RelativeError(reference.RunningMean, plain[0].RunningMean) > 1e-2, "plain BN running mean should differ");
    }

    private static (Tensor Input, Tensor Upstream) Data()
    {
        var generator = new Generator(23);
        // Each rank's half has its own mean, so per-rank statistics are clearly not the global ones.
        var input = randn([Ranks * PerRank, Channels, Height, Width], generator: generator).mul(2.0);
        input.narrow(0, PerRank, PerRank).add_(3.0);
        var upstream = randn([Ranks * PerRank, Channels, Height, Width], generator: generator);
        return (input, upstream);
    }

    private static Result RunReference(Tensor input, Tensor upstream)
    {
        using var norm = nn.BatchNorm2d(Channels);
        InitAffine(norm);
        var x = input.clone().requires_grad_(true);
        var y = norm.forward(x);
        y.mul(upstream).sum().backward();
        return Collect(norm, y, x);
    }

    /// <param name="group">Null: plain per-rank BatchNorm (the control).</param>
    private static Result RunRank(int rank, Tensor input, Tensor upstream, RingGroup? group, CollectiveMailbox? mailbox)
    {
        using var ring = group is null ? null : new RingAllReduce(group, rank, mailbox!, new CollectiveOptions { Timeout = TimeSpan.FromSeconds(60) });
        using var norm = new SyncBatchNorm2d(Channels) { Group = ring is null ? null : new DifferentiableAllReduce(new RingGradientReducer(ring, CancellationToken.None)) };
        InitAffine(norm);
        var x = input.narrow(0, rank * PerRank, PerRank).clone().requires_grad_(true);
        var y = norm.forward(x);
        y.mul(upstream.narrow(0, rank * PerRank, PerRank)).sum().backward();
        return Collect(norm, y, x);
    }

    private static Result Collect(nn.Module norm, Tensor output, Tensor input)
    {
        var parameters = norm.parameters().ToArray();
        var buffers = norm.buffers().ToArray();
        return new Result(output.detach(), input.grad!.detach(), parameters[0].grad!.detach().clone(), parameters[1].grad!.detach().clone(),
            buffers[0].detach().clone(), buffers[1].detach().clone());
    }

    private static void InitAffine(nn.Module norm)
    {
        using var noGrad = no_grad();
        var parameters = norm.parameters().ToArray();
        parameters[0].copy_(tensor(new[] { 1.5f, 0.5f, -1f }));
        parameters[1].copy_(tensor(new[] { 0.1f, -0.2f, 0.3f }));
    }

    private static double RelativeError(Tensor expected, Tensor actual)
    {
        var e = expected.detach().to(ScalarType.Float64);
        var a = actual.detach().to(ScalarType.Float64);
        return (e - a).abs().max().item<double>() / Math.Max(1e-12, e.abs().max().item<double>());
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        var error = RelativeError(expected, actual);
        Assert.True(error < Tolerance, $"{what}: max |Δ| / max |expected| = {error:E2}");
    }

    private sealed record Result(Tensor Output, Tensor InputGrad, Tensor WeightGrad, Tensor BiasGrad, Tensor RunningMean, Tensor RunningVar);
}
