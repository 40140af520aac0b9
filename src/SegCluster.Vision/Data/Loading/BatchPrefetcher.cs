using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// Loads the samples of upcoming steps on a background task while the current step computes, a bounded number of
/// batches ahead (like a PyTorch DataLoader's prefetch_factor). Epoch orders come from <c>epochOrder</c> (the shard
/// grain's slice for this rank), fetched when the previous epoch's batches are queued, so epoch boundaries do not
/// stall. Batches are the rank's order cut into full batches (a partial tail batch is dropped).
/// <see cref="Next"/> blocks until the next batch is ready; dispose to stop early. Depth 0 loads each batch on
/// the caller's thread inside <see cref="Next"/> (no background task). A batch's samples load on up to
/// <c>loaderThreads</c> threads at once (PyTorch DataLoader's num_workers): a sample depends only on its index and
/// epoch, never on which thread loads it, so the batches are the same for any thread count.
/// </summary>
public sealed class BatchPrefetcher : IDisposable
{
    private readonly Channel<PrefetchedBatch> _ready;
    private readonly CancellationTokenSource _stop;
    private readonly Task _producer;
    private readonly IEnumerator<PrefetchedBatch>? _synchronous;
    private readonly int _loaderThreads;

    /// <param name="startStep">Batches before this step are skipped unloaded (resuming from a checkpoint: same order, nothing recomputed).</param>
    /// <param name="loaderThreads">Samples of one batch loaded at once (1: one after another).</param>
    public BatchPrefetcher(ISampleSource source, Func<int, int[]> epochOrder, int batchSize, int totalSteps, int depth, CancellationToken cancellationToken,
        int startStep = 0, int loaderThreads = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        ArgumentOutOfRangeException.ThrowIfLessThan(loaderThreads, 1);
        _loaderThreads = loaderThreads;
        _ready = Channel.CreateBounded<PrefetchedBatch>(new BoundedChannelOptions(Math.Max(1, depth)) { SingleReader = true, SingleWriter = true });
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (depth == 0)
        {
            _synchronous = Batches(source, epochOrder, batchSize, totalSteps, startStep, _stop.Token).GetEnumerator();
            _producer = Task.CompletedTask;
        }
        else
            _producer = Task.Run(() => Produce(source, epochOrder, batchSize, totalSteps, startStep, _stop.Token));
    }

    /// <summary>The next step's batch; throws what the producer threw (e.g. the shard grain failed).</summary>
    public PrefetchedBatch Next()
    {
        if (_synchronous is not null)
            return _synchronous.MoveNext() ? _synchronous.Current : throw new InvalidOperationException("all steps' batches were taken.");
        try
        {
            return _ready.Reader.ReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();  // keeps the producer's stack trace
            throw;  // unreachable
        }
    }

    private async Task Produce(ISampleSource source, Func<int, int[]> epochOrder, int batchSize, int totalSteps, int startStep, CancellationToken ct)
    {
        Exception? failure = null;
        try
        {
            foreach (var batch in Batches(source, epochOrder, batchSize, totalSteps, startStep, ct))
                await _ready.Writer.WriteAsync(batch, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            failure = e;
        }
        _ready.Writer.TryComplete(failure);
    }

    /// <summary>The steps' batches in order: each epoch's order cut into full batches, until totalSteps.</summary>
    private IEnumerable<PrefetchedBatch> Batches(ISampleSource source, Func<int, int[]> epochOrder, int batchSize, int totalSteps, int startStep, CancellationToken ct)
    {
        for (int epoch = 0, step = 0; step < totalSteps; epoch++)
        {
            var order = epochOrder(epoch);
            if (order.Length < batchSize)
                throw new InvalidOperationException($"epoch {epoch} gives this rank {order.Length} samples, fewer than one batch of {batchSize}.");
            for (int start = 0; start + batchSize <= order.Length && step < totalSteps; start += batchSize, step++)
            {
                if (step < startStep) continue;
                var samples = Load(source, order.AsMemory(start, batchSize), epoch, ct);
                yield return new PrefetchedBatch(epoch, order[start..(start + batchSize)], HostBatch.Collate(samples));
            }
        }
    }

    /// <summary>One batch's samples, in the order's order, on up to <see cref="_loaderThreads"/> threads.</summary>
    private SegmentationSample[] Load(ISampleSource source, ReadOnlyMemory<int> indices, int epoch, CancellationToken ct)
    {
        var samples = new SegmentationSample[indices.Length];
        if (_loaderThreads == 1)
        {
            for (int i = 0; i < samples.Length; i++)
            {
                ct.ThrowIfCancellationRequested();
                samples[i] = source.Load(indices.Span[i], epoch);
            }
            return samples;
        }
        try
        {
            Parallel.For(0, samples.Length, new ParallelOptions { MaxDegreeOfParallelism = _loaderThreads, CancellationToken = ct },
                i => samples[i] = source.Load(indices.Span[i], epoch));
        }
        catch (AggregateException e)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();  // a loader's own error, as one thread reports it
        }
        return samples;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _synchronous?.Dispose();
        try { _producer.GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
