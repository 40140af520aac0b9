namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// What <see cref="ScriptedWorkerGrain"/> does when probed (DescribeAsync) or given a rank (RunAsync). By default both
/// answer at once. After <see cref="AnswerTogether"/>, a probe answers only once that many probes have arrived: a
/// scheduler that probes its gang one worker after another never gets there, each probe waiting out its timeout.
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

    public void HoldRuns() => _runs = NewSignal();

    public void ReleaseRuns() => _runs?.TrySetResult();

    public async Task ProbeAsync()
    {
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
