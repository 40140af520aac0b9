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

    [Theory]
    [InlineData(1)]   // shorter than the world: two ranks sum empty slices
    [InlineData(7)]   // slices of 2, 2 and 3 floats
    [InlineData(100_003)]
    public void Slices_of_any_length_sum_exactly_on_every_rank_even_when_the_length_changes(int length)
    {
        const int World = 3;
        var group = new InMemoryReducerGroup(World);
        var results = new float[World][][];
        var threads = Enumerable.Range(0, World).Select(r => new Thread(() =>
        {
            // A long buffer, then this length (the shared result is reallocated), then the long one again.
            results[r] = [.. new[] { 50, length, 50 }.Select(n =>
            {
                var buffer = Enumerable.Range(0, n).Select(i => (float)(i % 1000) * (r + 1)).ToArray();
                group[r].Sum(buffer);
                return buffer;
            })];
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var rank in results)
        {
            Assert.Equal(Enumerable.Range(0, length).Select(i => (float)(i % 1000) * 6), rank[1]);  // (1 + 2 + 3) × value
            Assert.Equal(Enumerable.Range(0, 50).Select(i => i * 6f), rank[2]);
        }
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

    [Fact]
    public void A_cancelled_rank_leaves_the_barrier_instead_of_waiting_out_the_timeout()
    {
        // The other rank never arrives: without the token this rank would wait the whole 10 minutes, then time out.
        var group = new InMemoryReducerGroup(2, TimeSpan.FromMinutes(10));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => group.Cancellable(0, cancelled.Token).Sum(new float[4]));
    }

    [Fact]
    public async Task The_first_sum_waits_ConnectTimeout_for_a_late_rank_and_later_sums_only_Timeout()
    {
        // Rank 1 arrives 0.5 s late at the first sum (still loading): beyond Timeout, within ConnectTimeout.
        var group = new InMemoryReducerGroup(2, timeout: TimeSpan.FromMilliseconds(100), connectTimeout: TimeSpan.FromMinutes(1));
        var late = Task.Factory.StartNew(() =>
        {
            Thread.Sleep(500);
            float[] buffer = [2f];
            group[1].Sum(buffer);  // then never arrives at the second sum
        }, TaskCreationOptions.LongRunning);
        float[] first = [1f];
        group[0].Sum(first);
        await late;
        Assert.Equal([3f], first);

        var error = Assert.Throws<TimeoutException>(() => group[0].Sum(new float[1]));
        Assert.Contains("within Timeout 00:00:00.1", error.Message);
    }

    [Fact]
    public void A_rank_missing_from_the_rendezvous_times_out_naming_ConnectTimeout()
    {
        var group = new InMemoryReducerGroup(2, timeout: TimeSpan.FromMinutes(1), connectTimeout: TimeSpan.FromMilliseconds(100));
        var error = Assert.Throws<TimeoutException>(() => group[0].Sum(new float[1]));
        Assert.Contains("first all-reduce (the rendezvous) within ConnectTimeout 00:00:00.1", error.Message);
    }
}
