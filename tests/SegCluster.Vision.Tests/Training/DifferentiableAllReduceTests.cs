using SegCluster.Vision.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training;

/// <summary><see cref="DifferentiableAllReduce"/> on its own, over an in-memory group of two ranks.</summary>
public sealed class DifferentiableAllReduceTests
{
    /// <summary>The gather is one full-precision sum in which each rank fills its own row: every rank gets every rank's tensor
    /// values and host values (SyncBatchNorm's pixel count), in rank order, exactly as sent.</summary>
    [Fact]
    public void Gather_returns_every_ranks_row_in_one_full_precision_sum()
    {
        var group = new InMemoryReducerGroup(2);
        var gathered = new float[2][];
        var hostValues = new[] { new[] { 3f, 4095f }, new[] { 5f, 1f } };
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            using var scope = NewDisposeScope();
            var reducer = new CountingReducer(group[r]);
            gathered[r] = new DifferentiableAllReduce(reducer).GatherWithoutGradient(tensor(new[] { 1f + r, 0.1f * r }), hostValues[r]);
            Assert.Equal((0, 1), (reducer.Calls, reducer.FullPrecisionCalls));
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.All(gathered, rows => Assert.Equal([1f, 0f, 3f, 4095f, 2f, 0.1f, 5f, 1f], rows));
    }

    /// <summary>Backward releases what it makes and the incoming gradient's wrapper: on CUDA autograd calls it from a device
    /// thread with no DisposeScope, as this thread has none during backward(), and such wrappers lived until finalised.
    /// Only the returned gradient stays alive (libtorch reads it after backward returns).</summary>
    [Fact]
    public void Backward_leaves_only_its_returned_gradient_alive()
    {
        var group = new DifferentiableAllReduce(new Mirror());
        using var x = ones(3, requires_grad: true);
        using var y = group.Sum(x);
        using var loss = y.sum();
        var statistics = DisposeScopeManager.Statistics;
        long before = statistics.CreatedOutsideScopeCount - statistics.DisposedOutsideScopeCount;

        loss.backward();

        // Before: 7 wrappers made outside any scope and never disposed. The returned gradient counts as detached from
        // backward's own scope, not as made outside one.
        Assert.Equal(0, statistics.CreatedOutsideScopeCount - statistics.DisposedOutsideScopeCount - before);
        using var gradient = x.grad!;
        Assert.Equal([2f, 2f, 2f], gradient.data<float>().ToArray());  // Σ over two ranks of dL/dy = 1
    }

    /// <summary>Rank 0 of two whose peer holds the same values: every sum doubles the buffer, on one thread.</summary>
    private sealed class Mirror : IGradientReducer
    {
        public int Rank => 0;

        public int WorldSize => 2;

        public void Sum(Memory<float> buffer)
        {
            foreach (ref var value in buffer.Span) value *= 2;
        }
    }

    private sealed class CountingReducer(IGradientReducer inner) : IGradientReducer
    {
        public int Calls { get; private set; }

        public int Rank => inner.Rank;

        public int WorldSize => inner.WorldSize;

        public int FullPrecisionCalls { get; private set; }

        public void Sum(Memory<float> buffer)
        {
            Calls++;
            inner.Sum(buffer);
        }

        public void SumFullPrecision(Memory<float> buffer)
        {
            FullPrecisionCalls++;
            inner.SumFullPrecision(buffer);
        }
    }
}
