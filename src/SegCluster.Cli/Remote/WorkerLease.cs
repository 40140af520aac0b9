using SegCluster.Abstractions.Grains;

namespace SegCluster.Cli.Remote;

/// <summary>
/// Free workers of a running cluster held for the CLI's own work (`eval --cluster`) through a scheduler lease, so no
/// experiment or sweep is started on them meanwhile (two jobs on one GPU can run it out of memory). Renewed every third
/// of its duration while this process lives; given back on dispose. A process that dies stops renewing, and the
/// scheduler's next check after the lease lapses frees the workers. A lease this process loses (renewals failed for its
/// whole duration, so the scheduler freed the workers) cancels <see cref="Lost"/>: the work stops rather than share the
/// devices with what the scheduler starts on them.
/// </summary>
public sealed class WorkerLease : IAsyncDisposable
{
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(60);

    private readonly ISchedulerGrain _scheduler;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _renewing;

    private WorkerLease(ISchedulerGrain scheduler, string holder, IReadOnlyList<string> workerIds, TimeSpan duration, TimeProvider time)
    {
        _scheduler = scheduler;
        Holder = holder;
        WorkerIds = workerIds;
        Lost = _lost.Token;  // read once: the token stays readable after dispose
        _renewing = RenewAsync(duration, time, _stop.Token);
    }

    /// <summary>The name the scheduler (and `segcluster status`) shows as the workers' holder, e.g. eval#3f9c0a1b.</summary>
    public string Holder { get; }

    public IReadOnlyList<string> WorkerIds { get; }

    /// <summary>Cancelled when the scheduler no longer holds the workers for this lease.</summary>
    public CancellationToken Lost { get; }

    /// <summary>Why the lease was lost, once <see cref="Lost"/> is cancelled.</summary>
    public string? LostReason { get; private set; }

    /// <summary>Leases up to <paramref name="max"/> free workers (of the <paramref name="device"/> kind, any when null); throws
    /// <see cref="InvalidOperationException"/> naming the shortfall when fewer than <paramref name="min"/> are free.</summary>
    /// <param name="time">The clock renewals are timed by (its timer is armed before this returns); null = the system's.</param>
    public static async Task<WorkerLease> TakeAsync(IGrainFactory grains, string purpose, int max, int min = 1, string? device = null, TimeSpan? duration = null,
        TimeProvider? time = null)
    {
        var scheduler = grains.GetGrain<ISchedulerGrain>(ISchedulerGrain.Default);
        var holder = ISchedulerGrain.LeaseHolder(purpose, Guid.NewGuid().ToString("N")[..8]);
        var lasts = duration ?? DefaultDuration;
        var workers = await scheduler.LeaseAsync(holder, max, Math.Min(min, max), device, lasts);
        return new WorkerLease(scheduler, holder, workers, lasts, time ?? TimeProvider.System);
    }

    private async Task RenewAsync(TimeSpan duration, TimeProvider time, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(duration / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                bool held;
                try
                {
                    held = await _scheduler.RenewLeaseAsync(Holder, duration);
                }
                catch (Exception e)
                {
                    if (stop.IsCancellationRequested) return;
                    // The scheduler may be moving off a lost node: the next tick tries again, well before the lease lapses.
                    Console.Error.WriteLine($"warning: could not renew the lease {Holder} ({e.Message}); trying again.");
                    continue;
                }
                if (held) continue;
                LostReason = $"the scheduler no longer holds workers {string.Join(", ", WorkerIds)} for {Holder} (it freed them: renewals failed for {duration.TotalSeconds:0} s, or the lease was released)";
                await _lost.CancelAsync();
                return;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewing;  // never faults: its failures are handled inside
        _stop.Dispose();
        _lost.Dispose();
        try
        {
            await _scheduler.ReleaseAsync(Holder);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"warning: could not give back workers {string.Join(", ", WorkerIds)} ({e.Message}); the scheduler frees them when the lease {Holder} lapses.");
        }
    }
}
