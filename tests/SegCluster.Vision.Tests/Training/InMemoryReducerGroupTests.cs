using SegCluster.Vision.Training;

namespace SegCluster.Vision.Tests.Training;

public class InMemoryReducerGroupTests
{
    [Fact]
    public void EveryRankGetsTheSameSumRepeatedly()
    {
        var group = new InMemoryReducerGroup(3);
        var results = new float[3][];
        var threads = Enumerable.Range(0, 3).Select(r => new Thread(() =>
        {
            var reducer = group[r];
            float[] buffer = [];
            for (int round = 0; round < 5; round++)
            {
                buffer = [r + 1f, 10f * r + round];
                reducer.Sum(buffer);
            }
            results[r] = buffer;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var r in results)
            Assert.Equal(new[] { 6f, 30f + 3 * 4 }, r);
    }

    [Fact]
    public void SingleRankReducerLeavesTheBufferAlone()
    {
        float[] buffer = [1f, -2f];
        var reducer = new SingleRankReducer();
        reducer.Sum(buffer);
        Assert.Equal(new[] { 1f, -2f }, buffer);
        Assert.Equal((0, 1), (reducer.Rank, reducer.WorldSize));
    }
}
