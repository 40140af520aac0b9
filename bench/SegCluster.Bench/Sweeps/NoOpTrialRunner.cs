using System.Collections.Concurrent;
using System.Diagnostics;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Bench.Sweeps;

/// <summary>A trial that trains nothing: holds its worker for a fixed time, reports one step, completes, and records
/// when it ran on which worker, so the scheduling gaps between trials can be measured.</summary>
internal sealed class NoOpTrialRunner(TimeSpan work) : ITrialRunner
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    public ConcurrentBag<(int Index, string Worker, TimeSpan Start, TimeSpan End)> Spans { get; } = [];

    public async Task<TrialOutcome> RunAsync(TrialLaunch launch, Func<TrialProgress, bool> progress, CancellationToken cancellationToken)
    {
        var start = Clock.Elapsed;
        if (work > TimeSpan.Zero) await Task.Delay(work, cancellationToken);
        else await Task.Yield();
        progress(new TrialProgress(1, 1.0));
        Spans.Add((launch.Index, launch.Workers[0], start, Clock.Elapsed));
        return new TrialOutcome(TrialState.Completed, 1, 1.0, new EvaluationReport(0.5, 0.5, [], []));
    }

    /// <summary>Never called: <see cref="StateOfAsync"/> knows no experiment, so a coordinator taking over launches every trial again.</summary>
    public Task<TrialOutcome> FollowAsync(TrialLaunch launch, int fromStep, Func<TrialProgress, bool> progress, CancellationToken cancellationToken) =>
        RunAsync(launch, progress, cancellationToken);

    public Task<ExperimentState?> StateOfAsync(string experimentId) => Task.FromResult<ExperimentState?>(null);

    public Task AbandonAsync(string experimentId) => Task.CompletedTask;

    public Task<CheckpointRecord?> LastCheckpointAsync(string experimentId) => Task.FromResult<CheckpointRecord?>(null);
}
