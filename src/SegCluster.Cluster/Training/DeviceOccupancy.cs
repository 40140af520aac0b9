using System.Collections.Concurrent;

namespace SegCluster.Cluster.Training;

/// <summary>
/// One training loop per worker device in this process. A worker grain chains a new loop after its own previous one, but
/// an activation that Orleans deactivated (a directory failure, a shutdown) leaves its cancelled loop running until the
/// next step boundary or the collective timeout, up to a minute, while a new activation may already start the next
/// attempt's loop on the same device: two models and two batches on one GPU. The new loop waits here for the old one.
/// </summary>
public sealed class DeviceOccupancy
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _devices = new(StringComparer.Ordinal);

    /// <summary>Waits (blocking: loops run on dedicated threads) until no other loop holds <paramref name="workerId"/>'s
    /// device, at most <paramref name="limit"/>; returns the lease to dispose when the loop ends, or null if the other loop
    /// still runs after the limit (the caller goes on, as before this existed, rather than never train again).</summary>
    /// <exception cref="OperationCanceledException">The loop was cancelled while waiting.</exception>
    public IDisposable? Occupy(string workerId, TimeSpan limit, CancellationToken cancellationToken)
    {
        var device = _devices.GetOrAdd(workerId, _ => new SemaphoreSlim(1, 1));
        return device.Wait(limit, cancellationToken) ? new Lease(device) : null;
    }

    private sealed class Lease(SemaphoreSlim device) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) device.Release();
        }
    }
}
