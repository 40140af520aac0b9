namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// What <see cref="ScriptedWorkerGrain"/> does when probed (DescribeAsync) or given a rank (RunAsync). By default both
/// answer at once. After <see cref="AnswerTogether"/>, a probe answers only once that many probes have arrived: a
/// scheduler that probes its gang one worker after another never gets there, each probe waiting out its timeout.
/// After <see cref="HoldProbes"/>, probes wait until released and the first of them fails.
/// After <see cref="HoldRuns"/>, a rank's start stays inside the worker until <see cref="ReleaseRuns"/>, as a start
/// waiting for a cancelled loop to leave the device does.
/// </summary>
internal sealed class WorkerProbes
{
    private TaskCompletionSource? _together;
    private int _needed;
    private int _arrived;
    private TaskCompletionSource? _runs;

    /// <summary>Completes when a held rank's start has entered its worker.</summary>
    public TaskCompletionSource RunHeld { get; } = NewSignal();

    public void AnswerTogether(int probes) => (_needed, _arrived, _together) = (probes, 0, NewSignal());

    private TaskCompletionSource? _held;
    private int _heldArrivals;
    private readonly List<(int Count, TaskCompletionSource Signal)> _arrivalWaits = [];

    /// <summary>From now on probes wait until <see cref="ReleaseProbes"/>; the first to arrive then fails (its worker is
    /// silent: the scheduler's probe catches any failure), the others answer.</summary>
    public void HoldProbes() => (_held, _heldArrivals) = (NewSignal(), 0);

    public void ReleaseProbes()
    {
        var held = _held;
        _held = null;
        held?.TrySetResult();
    }

    /// <summary>Completes when <paramref name="count"/> probes have arrived since <see cref="HoldProbes"/>.</summary>
    public Task ProbesHeld(int count)
    {
        lock (_arrivalWaits)
        {
            var signal = NewSignal();
            if (_heldArrivals >= count) signal.TrySetResult();
            else _arrivalWaits.Add((count, signal));
            return signal.Task;
        }
    }

    public void HoldRuns() => _runs = NewSignal();

    public void ReleaseRuns() => _runs?.TrySetResult();

    public async Task ProbeAsync()
    {
        if (_held is { } held)
        {
            int arrival;
            lock (_arrivalWaits)
            {
                arrival = ++_heldArrivals;
                foreach (var wait in _arrivalWaits.Where(w => w.Count <= arrival)) wait.Signal.TrySetResult();
            }
            await held.Task;
            if (arrival == 1) throw new TimeoutException("the probe did not answer (scripted)");
        }
        if (_together is not { } together) return;
        if (Interlocked.Increment(ref _arrived) >= _needed) together.TrySetResult();
        await together.Task;
    }

    public async Task RunAsync()
    {
        if (_runs is not { } runs) return;
        RunHeld.TrySetResult();
        await runs.Task;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
