using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training;

/// <summary>DDP's start: every rank ends with rank 0's parameters and buffers, and the copies made on the way are freed.</summary>
public sealed class ParameterBroadcastTests
{
    [Fact]
    public void Every_rank_gets_rank_zeros_weights_and_no_tensor_outlives_the_call()
    {
        var group = new InMemoryReducerGroup(2, TimeSpan.FromSeconds(10));
        var models = new[] { TestData.Model("encoder-decoder", 3, 4, NormKind.BatchNorm, seed: 1), TestData.Model("encoder-decoder", 3, 4, NormKind.BatchNorm, seed: 2) };
        var leaked = new long[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            ParameterBroadcast.FromRankZero(models[r], group[r]);
            leaked[r] = DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Equal([0L, 0L], leaked);  // before: a detach/cpu pair per tensor on rank 0, a host copy per tensor on rank 1
        var zero = models[0].state_dict();
        foreach (var (name, value) in models[1].state_dict())
            Assert.True(value.eq(zero[name]).all().item<bool>(), $"{name} differs from rank 0's");
        foreach (var model in models) model.Dispose();
    }

    /// <summary>A validation mid-run sends only the running statistics: the parameters are equal on every rank already, and
    /// sending them was a model-sized all-reduce per validation. Here they differ on purpose, to show they stay untouched.</summary>
    [Fact]
    public void Buffers_only_sends_the_running_statistics_and_leaves_the_parameters()
    {
        var group = new InMemoryReducerGroup(2, TimeSpan.FromSeconds(10));
        var models = new[] { TestData.Model("encoder-decoder", 3, 4, NormKind.BatchNorm, seed: 1), TestData.Model("encoder-decoder", 3, 4, NormKind.BatchNorm, seed: 2) };
        using (no_grad())
            foreach (var (model, r) in models.Select((m, r) => (m, r)))
                foreach (var buffer in model.buffers().Where(b => b.dtype == ScalarType.Float32)) buffer.fill_(r + 1.0);
        var parameters = models[1].named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() => ParameterBroadcast.BuffersFromRankZero(models[r], group[r]))).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.All(models[1].buffers().Where(b => b.dtype == ScalarType.Float32), b => Assert.True(b.eq(1.0).all().item<bool>()));
        Assert.All(models[1].named_parameters(), p => Assert.True(p.parameter.eq(parameters[p.name]).all().item<bool>(), $"{p.name} was changed"));
        Assert.Contains(models[0].named_parameters(), p => !p.parameter.eq(models[1].named_parameters().First(q => q.name == p.name).parameter).all().item<bool>());
        foreach (var model in models) model.Dispose();
        foreach (var copy in parameters.Values) copy.Dispose();
    }
}
