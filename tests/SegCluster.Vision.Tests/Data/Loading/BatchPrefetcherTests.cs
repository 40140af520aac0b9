using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Loading;

namespace SegCluster.Vision.Tests.Data.Loading;

public sealed class BatchPrefetcherTests
{
    /// <summary>Tiny synthetic scenes: real samples, cheap to make.</summary>
    private static CachedDatasetSource Source() => new(new SyntheticSceneDataset(new SyntheticSceneOptions(3, 16, 16, 20, Seed: 1)), 1 << 20);

    /// <summary>Sample <paramref name="i"/>'s labels within the stacked batch.</summary>
    private static byte[] Label(PrefetchedBatch batch, int i) =>
        batch.Batch.Labels.AsSpan(i * batch.Batch.Height * batch.Batch.Width, batch.Batch.Height * batch.Batch.Width).ToArray();

    [Fact]
    public void Batches_follow_each_epochs_order_across_epoch_boundaries()
    {
        // epoch e's order: 7 indices, rotated by e; batches of 3 drop the 7th
        int[] Order(int epoch) => Enumerable.Range(0, 7).Select(i => (i + epoch) % 20).ToArray();
        var source = Source();
        using var prefetcher = new BatchPrefetcher(source, Order, batchSize: 3, totalSteps: 5, depth: 2, CancellationToken.None);
        var batches = Enumerable.Range(0, 5).Select(_ => prefetcher.Next()).ToList();
        Assert.Equal([0, 0, 1, 1, 2], batches.Select(b => b.Epoch));
        Assert.Equal([[0, 1, 2], [3, 4, 5], [1, 2, 3], [4, 5, 6], [2, 3, 4]], batches.Select(b => b.Indices));
        var dataset = new SyntheticSceneDataset(new SyntheticSceneOptions(3, 16, 16, 20, Seed: 1));
        Assert.Equal(dataset.Get(4).Label, Label(batches[1], 1));
    }

    [Fact]
    public void Depth_zero_loads_the_same_batches_on_the_callers_thread()
    {
        int[] Order(int epoch) => Enumerable.Range(0, 6).Select(i => (5 * i + epoch) % 20).ToArray();
        using var background = new BatchPrefetcher(Source(), Order, 2, 7, depth: 2, CancellationToken.None);
        using var synchronous = new BatchPrefetcher(Source(), Order, 2, 7, depth: 0, CancellationToken.None);
        for (int step = 0; step < 7; step++)
        {
            var (a, b) = (background.Next(), synchronous.Next());
            Assert.Equal(a.Epoch, b.Epoch);
            Assert.Equal(a.Indices, b.Indices);  // element-wise (a tuple would compare the arrays by reference)
            Assert.Equal(a.Batch.Images, b.Batch.Images);
        }
        Assert.Throws<InvalidOperationException>(synchronous.Next);
    }

    /// <summary>Resuming from a checkpoint at step 4: the same batches as an uninterrupted run from there on.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Start_step_skips_exactly_the_batches_before_it(int depth)
    {
        int[] Order(int epoch) => Enumerable.Range(0, 6).Select(i => (5 * i + epoch) % 20).ToArray();
        using var whole = new BatchPrefetcher(Source(), Order, 2, 7, depth, CancellationToken.None);
        using var resumed = new BatchPrefetcher(Source(), Order, 2, 7, depth, CancellationToken.None, startStep: 4);
        for (int step = 0; step < 4; step++) whole.Next();
        for (int step = 4; step < 7; step++)
        {
            var (a, b) = (whole.Next(), resumed.Next());
            Assert.Equal(a.Epoch, b.Epoch);
            Assert.Equal(a.Indices, b.Indices);
        }
    }

    /// <summary>A sample depends on its index and epoch only: four loader threads give the batches one thread gives.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Loader_threads_give_the_same_batches_as_one(int depth)
    {
        int[] Order(int epoch) => Enumerable.Range(0, 12).Select(i => (7 * i + epoch) % 20).ToArray();
        using var one = new BatchPrefetcher(Source(), Order, 4, 6, depth, CancellationToken.None);
        using var four = new BatchPrefetcher(Source(), Order, 4, 6, depth, CancellationToken.None, loaderThreads: 4);
        for (int step = 0; step < 6; step++)
        {
            var (a, b) = (one.Next(), four.Next());
            Assert.Equal(a.Indices, b.Indices);
            Assert.Equal(a.Batch.Images, b.Batch.Images);
            Assert.Equal(a.Batch.Labels, b.Batch.Labels);
        }
    }

    [Fact]
    public void A_sample_that_fails_on_a_loader_thread_surfaces_its_own_error_in_Next()
    {
        using var prefetcher = new BatchPrefetcher(new FailingSource(Source(), failAt: 5), _ => Enumerable.Range(0, 8).ToArray(), 4, 2, 2,
            CancellationToken.None, loaderThreads: 3);
        prefetcher.Next();
        var error = Assert.Throws<InvalidDataException>(prefetcher.Next);  // not an AggregateException
        Assert.Equal("sample 5 is corrupt", error.Message);
    }

    /// <summary>A source whose sample <c>failAt</c> cannot be loaded.</summary>
    private sealed class FailingSource(ISampleSource inner, int failAt) : ISampleSource
    {
        public int Count => inner.Count;
        public int NumClasses => inner.NumClasses;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public SampleCacheStatistics CacheStatistics => inner.CacheStatistics;
        public SegmentationSample Get(int index) => Load(index, 0);
        public SegmentationSample Load(int index, int epoch) =>
            index == failAt ? throw new InvalidDataException($"sample {index} is corrupt") : inner.Load(index, epoch);
    }

    [Fact]
    public void A_failure_of_the_order_source_surfaces_in_Next()
    {
        using var prefetcher = new BatchPrefetcher(Source(), _ => throw new InvalidOperationException("shard grain down"), 2, 3, 2, CancellationToken.None);
        var error = Assert.Throws<InvalidOperationException>(prefetcher.Next);
        Assert.Equal("shard grain down", error.Message);
        Assert.Contains(nameof(BatchPrefetcher) + ".Batches", error.StackTrace, StringComparison.Ordinal);  // the producer's frames, not only Next's
    }

    [Fact]
    public async Task Disposing_early_stops_the_producer()
    {
        var prefetcher = new BatchPrefetcher(Source(), _ => Enumerable.Range(0, 20).ToArray(), 2, 1000, 1, CancellationToken.None);
        prefetcher.Next();
        // returns: the producer blocked on the full queue sees the cancellation (bounded, so a regression fails, not hangs)
        var disposed = Task.Run(prefetcher.Dispose);
        var first = await Task.WhenAny(disposed, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(first == disposed, "Dispose did not return within 30 s: the producer ignored the cancellation.");
        await disposed;  // and did not throw
    }
}
