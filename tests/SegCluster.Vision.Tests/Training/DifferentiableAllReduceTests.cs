using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training;

/// <summary><see cref="DifferentiableAllReduce"/> on its own, over an in-memory group of two ranks.</summary>
public sealed class DifferentiableAllReduceTests
{
    /// <summary>Host values (SyncBatchNorm's pixel count) are summed in the tensor's own all-reduce and written back to the
    /// array, so the caller reads the total from host memory; the tensor's sum is unchanged by them.</summary>
    [Fact]
    public void Host_values_are_summed_in_the_same_call_and_written_back()
    {
        var group = new InMemoryReducerGroup(2);
        var sums = new float[2][];
        var hostValues = new[] { new[] { 3f, 4096f }, new[] { 5f, 1f } };
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            using var scope = NewDisposeScope();
            var reducer = new CountingReducer(group[r]);
            var summed = new DifferentiableAllReduce(reducer).Sum(tensor(new[] { 1f + r, 10f * r }), hostValues[r]);
            sums[r] = summed.data<float>().ToArray();
            Assert.Equal(1, reducer.Calls);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.All(sums, sum => Assert.Equal([3f, 10f], sum));
        Assert.All(hostValues, values => Assert.Equal([8f, 4097f], values));
    }

    private sealed class CountingReducer(IGradientReducer inner) : IGradientReducer
    {
        public int Calls { get; private set; }

        public int Rank => inner.Rank;

        public int WorldSize => inner.WorldSize;

        public void Sum(Memory<float> buffer)
        {
            Calls++;
            inner.Sum(buffer);
        }
    }
}
