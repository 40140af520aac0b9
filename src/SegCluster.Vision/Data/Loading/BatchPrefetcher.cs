using System.Threading.Channels;

namespace SegCluster.Vision.Data.Loading;

/// <summary>
/// Loads the samples of upcoming steps on a background task while the current step computes, a bounded number of
/// batches ahead (like a PyTorch DataLoader's prefetch_factor). Epoch orders come from <c>epochOrder</c> (the shard
/// grain's slice for this rank), fetched when the previous epoch's batches are queued, so epoch boundaries do not
/// stall. Batches are the rank's order cut into full batches (a partial tail batch is dropped).
/// <see cref="Next"/> blocks until the next batch is ready; dispose to stop early.
/// </summary>
public sealed class BatchPrefetcher : IDisposable
{
    private readonly Channel<PrefetchedBatch> _ready;
    private readonly CancellationTokenSource _stop;
    private readonly Task _producer;

    public BatchPrefetcher(ISampleSource source, Func<int, int[]> epochOrder, int batchSize, int totalSteps, int depth, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        _ready = Channel.CreateBounded<PrefetchedBatch>(new BoundedChannelOptions(depth) { SingleReader = true, SingleWriter = true });
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _producer = Task.Run(() => Produce(source, epochOrder, batchSize, totalSteps, _stop.Token));
    }

    /// <summary>The next step's samples; throws what the producer threw (e.g. the shard grain failed).</summary>
    public PrefetchedBatch Next()
    {
        try
        {
            return _ready.Reader.ReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    private async Task Produce(ISampleSource source, Func<int, int[]> epochOrder, int batchSize, int totalSteps, CancellationToken ct)
    {
        Exception? failure = null;
        try
        {
            for (int epoch = 0, step = 0; step < totalSteps; epoch++)
            {
                var order = epochOrder(epoch);
                if (order.Length < batchSize)
                    throw new InvalidOperationException($"epoch {epoch} gives this rank {order.Length} samples, fewer than one batch of {batchSize}.");
                for (int start = 0; start + batchSize <= order.Length && step < totalSteps; start += batchSize, step++)
                {
                    var samples = new SegmentationSample[batchSize];
                    for (int i = 0; i < batchSize; i++)
                    {
                        ct.ThrowIfCancellationRequested();
                        samples[i] = source.Load(order[start + i], epoch);
                    }
                    await _ready.Writer.WriteAsync(new PrefetchedBatch(epoch, order[start..(start + batchSize)], samples), ct);
                }
            }
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

    public void Dispose()
    {
        _stop.Cancel();
        try { _producer.GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
