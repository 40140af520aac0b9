using SegCluster.Abstractions;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cli.Commands;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Output;
using SegCluster.Cli.Remote;
using SegCluster.Cluster.Sweeps;
using SegCluster.Cluster.Sweeps.Search;
using Spectre.Console;

namespace SegCluster.Cli.Sweeps;

/// <summary>Runs a sweep on an embedded cluster or a running one (`--cluster`) with a live view, then writes the report
/// folder and prints the table; resumes one (`--resume`).</summary>
public static class SweepRunner
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ProgressWriteInterval = TimeSpan.FromSeconds(2);

    /// <returns>Exit code: 0 when the sweep completed with at least one completed trial and its report was written, 1 otherwise,
    /// 130 when cancelled.</returns>
    public static async Task<int> RunAsync(SweepSpec spec, int workers, int metricsPort, DirectoryInfo root, CancellationToken cancellationToken)
    {
        Announce(spec, Embedded(workers));
        var sweepId = RunIds.Timestamped(spec.Name);
        if (RunIds.Problem(sweepId, "sweep id") is { } badId)
        {
            Console.Error.WriteLine($"error: {badId}");
            return 2;
        }
        var folder = new DirectoryInfo(Path.Combine(root.FullName, sweepId));
        SweepStateFolder state;
        try
        {
            // The node keeps the sweep's state in files here from the start, so a sweep whose process ends can be resumed.
            state = SweepStateFolder.Create(folder, sweepId, workers, spec.Base.Device);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: the sweep's folder {folder.FullName} cannot be written: {e.Message}");
            return 1;
        }
        (int Exit, SweepStatus? Status) run = (1, null);
        using (var held = state.TryLock(out var unlocked))  // a new folder: only a moment's look by `results` holds it
        {
            if (held is null)
            {
                Console.Error.WriteLine($"error: {unlocked}");
                return 1;
            }
            if (await StartClusterAsync(state, metricsPort, cancellationToken) is { } cluster)
                await using (cluster)
                    run = await RunOnAsync(spec, cluster.Grains, cluster.WorkerIds, root, cancellationToken, sweepId, ResumeCommand(sweepId, root));
        }
        // Nothing was recorded (the cluster did not start, or the spec was refused): no folder that `--resume NAME` would pick.
        if (run.Status is null) TryDelete(folder);
        return run.Exit;
    }

    /// <summary>`sweep --resume`: the sweep kept in <paramref name="state"/> runs its unfinished trials (and with
    /// <paramref name="retryFailed"/> its failed ones) on an embedded cluster like the one it ran on; exit codes as <see cref="RunAsync"/>.</summary>
    public static async Task<int> ResumeAsync(SweepStateFolder state, bool retryFailed, int metricsPort, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        console.MarkupLineInterpolated($"[bold]SegCluster sweep[/] resuming {state.SweepId} from {state.ReportFolder.FullName}: embedded cluster of {state.Workers} workers on {state.Device}");
        using var held = state.TryLock(out var busy);
        if (held is null)
        {
            Console.Error.WriteLine($"error: {busy}");
            return 1;
        }
        if (await StartClusterAsync(state, metricsPort, cancellationToken) is not { } cluster) return 1;
        await using (cluster)
        {
            var sweep = cluster.Grains.GetGrain<ISweepGrain>(state.SweepId);
            SweepStatus status;
            try
            {
                status = await sweep.ResumeAsync(retryFailed);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // No record (the state folder lost its files), a damaged record file, storage that cannot be written.
                Console.Error.WriteLine($"error: sweep {state.SweepId} cannot be resumed from {state.GrainsFolder}: {e.Message}");
                return 1;
            }
            return await FollowResumedAsync(sweep, status, retryFailed, state.ReportFolder, ResumeCommand(state.SweepId, state.ReportFolder.Parent!), cancellationToken);
        }
    }

    /// <summary>`sweep --cluster`: the sweep on <paramref name="workerIds"/> of a running cluster, whose nodes keep its state
    /// (Redis); the report folder is written here.</summary>
    public static async Task<int> RunOnClusterAsync(SweepSpec spec, IGrainFactory grains, IReadOnlyList<string> workerIds, ClusterAddress cluster, DirectoryInfo root,
        CancellationToken cancellationToken)
    {
        Announce(spec, $"on the cluster at {cluster.Redis}, {workerIds.Count} free workers ({string.Join(", ", workerIds)})");
        var sweepId = RunIds.Timestamped(spec.Name);
        return (await RunOnAsync(spec, grains, workerIds, root, cancellationToken, sweepId, ResumeCommand(sweepId, root, cluster))).Exit;
    }

    /// <summary>`sweep --resume ID --cluster`: resumes the sweep the cluster keeps (ids, not names: the cluster lists no sweeps).</summary>
    public static async Task<int> ResumeOnClusterAsync(IGrainFactory grains, string sweepId, bool retryFailed, ClusterAddress cluster, DirectoryInfo root,
        CancellationToken cancellationToken)
    {
        AnsiConsole.Console.MarkupLineInterpolated($"[bold]SegCluster sweep[/] resuming {sweepId} on the cluster at {cluster.Redis}");
        var sweep = grains.GetGrain<ISweepGrain>(sweepId);
        var status = await sweep.ResumeAsync(retryFailed);  // no record: InvalidOperationException, one line (RemoteClusterOptions)
        return await FollowResumedAsync(sweep, status, retryFailed, new DirectoryInfo(Path.Combine(root.FullName, sweepId)),
            ResumeCommand(sweepId, root, cluster), cancellationToken);
    }

    /// <summary>Where an embedded sweep runs, as its banner says.</summary>
    public static string Embedded(int workers) => $"embedded cluster of {workers} workers";

    /// <summary>
    /// `sweep --dry-run` (and spectral-sweep's): the banner a run prints and the trials as the sweep expands them
    /// (<see cref="TrialPlanner.Expand"/>, as it starts: invalid combinations are skipped), each skipped one with its
    /// reason, and how many spectral_skip may skip after its analysis; nothing starts. 0 when a trial would run, 2 when
    /// every combination is invalid.
    /// </summary>
    public static int DryRun(SweepSpec spec, string where)
    {
        Announce(spec, where);
        var (trials, runnable) = TrialPlanner.Expand(spec);
        var skipped = trials.Where(t => t.State == TrialState.Skipped).ToList();
        foreach (var trial in skipped) Console.WriteLine($"would skip {trial.Name} ({SweepTable.Parameters(trial)}): {trial.Reason}");
        if (runnable.Count == 0)
        {
            Console.Error.WriteLine($"error: every one of the {trials.Count} trials is an invalid combination (above); change the axes or the base.");
            return 2;
        }
        // spectral_skip decides in the sweep's driver, on the label analysis it runs as the sweep starts: only a bound here.
        var maySkip = SpectralTrialFilter.MaySkip(spec, runnable);
        if (maySkip > 0)
            Console.WriteLine($"spectral_skip: up to {maySkip} of these trials (those with labels.factor > 1) may be skipped after the label analysis the sweep runs as it starts");
        return DryRunOption.Passed($"{runnable.Count} of {trials.Count} trials would run" + (skipped.Count > 0 ? $", {skipped.Count} skipped" : "") +
                                   (maySkip > 0 ? $" (up to {maySkip} fewer with spectral_skip)" : ""));
    }


    private static void Announce(SweepSpec spec, string where) => AnsiConsole.Console.MarkupLineInterpolated(
        $"[bold]SegCluster sweep[/] {spec.Name}: {SweepValidation.TrialCount(spec)} trials ({spec.Search.Kind} search), {spec.Metric} ({spec.EffectiveMode}); {spec.MaxConcurrentTrials} concurrent × {spec.WorkersPerTrial} worker(s) on {spec.Base.Device}, {spec.Budget} steps per trial; {where}");

    private static async Task<int> FollowResumedAsync(ISweepGrain sweep, SweepStatus status, bool retryFailed, DirectoryInfo folder, string resumeCommand,
        CancellationToken cancellationToken)
    {
        var toRun = status.Trials.Count(t => !t.State.IsFinished());
        var failedHint = toRun == 0 && status.Count(TrialState.Failed) > 0 && !retryFailed ? $" ({status.Count(TrialState.Failed)} failed: --retry-failed runs them again)" : "";
        AnsiConsole.Console.MarkupLineInterpolated($"{status.Trials.Count(t => t.State.IsFinished())} trials finished before, {toRun} to run{failedHint}");
        return (await FollowAsync(sweep, status, folder, resumeCommand, cancellationToken)).Exit;
    }

    /// <summary>The command that resumes sweep <paramref name="sweepId"/> reported under <paramref name="root"/> (on
    /// <paramref name="cluster"/>, or embedded), to copy: shell-quoted where a path needs it.</summary>
    public static string ResumeCommand(string sweepId, DirectoryInfo root, ClusterAddress? cluster = null) =>
        $"segcluster sweep --resume {sweepId}" +
        (cluster is null ? "" : $" {cluster.Arguments}") +
        OutOption(root, "--out");

    /// <summary>" --out 'ROOT'" (or --root, as `results` names it) when <paramref name="root"/> is not the default, else "".</summary>
    public static string OutOption(DirectoryInfo root, string option) =>
        root.FullName == Commands.SweepCommand.DefaultRoot.FullName ? "" : $" {option} {ShellWord.Quote(root.FullName, always: true)}";

    private static void TryDelete(DirectoryInfo folder)
    {
        try { folder.Delete(recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* left behind: it holds no record, and says so on --resume */ }
    }

    /// <summary>An embedded cluster that keeps its grain state in the sweep's state folder and its trials' checkpoints in the
    /// report folder (checkpoints/, where a trial launched again by a resume finds its last one, whatever the working
    /// directory); null (error on stderr) when it cannot start.</summary>
    private static async Task<EmbeddedCluster?> StartClusterAsync(SweepStateFolder state, int metricsPort, CancellationToken cancellationToken)
    {
        try
        {
            return await EmbeddedCluster.StartAsync(state.Workers, state.Device, metricsPort, cancellationToken,
                new Dictionary<string, string?>
                {
                    ["Node:StateDirectory"] = state.GrainsFolder,
                    ["Node:CheckpointDirectory"] = Path.Combine(state.ReportFolder.FullName, "checkpoints"),
                });
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return null;
        }
    }

    /// <summary>Runs the sweep on a started cluster (embedded, or a client of a running one) over <paramref name="workerIds"/>
    /// with the live view, writes the report folder, prints the table.</summary>
    /// <param name="sweepId">The sweep's id (default: its name and the time).</param>
    /// <param name="resumeCommand">What resumes the sweep, printed when trials did not finish; null: it cannot be resumed.</param>
    /// <returns>The exit code (as <see cref="RunAsync"/>) and the final status (null when the sweep did not start).</returns>
    public static async Task<(int Exit, SweepStatus? Status)> RunOnAsync(SweepSpec spec, IGrainFactory grains, IReadOnlyList<string> workerIds, DirectoryInfo root,
        CancellationToken cancellationToken, string? sweepId = null, string? resumeCommand = null)
    {
        sweepId ??= RunIds.Timestamped(spec.Name);
        var sweep = grains.GetGrain<ISweepGrain>(sweepId);
        SweepStatus status;
        try
        {
            status = await sweep.StartAsync(spec, workerIds);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {e.UserMessage()}");
            return (1, null);
        }
        return await FollowAsync(sweep, status, new DirectoryInfo(Path.Combine(root.FullName, sweepId)), resumeCommand, cancellationToken);
    }

    /// <summary>The live view until the sweep ends (Ctrl-C cancels it), then the table and the report folder.</summary>
    private static async Task<(int Exit, SweepStatus Status)> FollowAsync(ISweepGrain sweep, SweepStatus status, DirectoryInfo folder, string? resumeCommand,
        CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        var announced = new HashSet<int>();
        void AnnounceSkips()
        {
            foreach (var skipped in status.Trials.Where(t => t.State == TrialState.Skipped && announced.Add(t.Index)))
                console.MarkupLineInterpolated($"[grey]skipped {skipped.Name}: {skipped.Reason}[/]");
        }
        AnnounceSkips();  // invalid combinations; spectral_skip decides in the sweep's driver, and is announced after the live view

        var cancelled = false;
        var reported = -1;  // finished trials in the report folder's results.json so far
        var writtenAt = DateTime.MinValue;
        async Task PollAsync(Action<SweepStatus> show)
        {
            show(status);
            while (status.State == SweepState.Running)
            {
                // The results so far when trials have ended, at most every 2 s (a sweep of many short trials would rewrite its
                // whole report several times a second): `segcluster results` can read a running sweep (Ray Tune's experiment
                // state, written as it goes), and what finished stays readable if this process is killed.
                if (status.Trials.Count(t => t.State.IsFinished()) is var finished && finished != reported && DateTime.UtcNow - writtenAt >= ProgressWriteInterval)
                {
                    (reported, writtenAt) = (finished, DateTime.UtcNow);
                    try { await SweepReport.From(status).WriteAsync(folder, CancellationToken.None); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the final write reports it */ }
                }
                try
                {
                    await Task.Delay(PollInterval, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    cancelled = true;
                    await sweep.CancelAsync();
                }
                status = await sweep.GetStatusAsync();
                show(status);
            }
        }
        if (console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
            await console.Live(SweepLiveView.Render(status)).StartAsync(live => PollAsync(s => live.UpdateTarget(SweepLiveView.Render(s))));
        else
            await PollAsync(SweepLiveView.Lines(console));

        AnnounceSkips();
        var report = SweepReport.From(status);
        console.Write(SweepTable.Create(report, top: 20));  // before the files: a failed write leaves the table
        if (SweepTable.BestCheckpointLine(report) is { } best) Console.WriteLine(best);  // plain: a path to copy, unwrapped
        if (status.Error is { } error) Console.Error.WriteLine($"error: the sweep coordinator failed: {error}");
        var written = await OutputFolder.TryWriteAsync(folder.FullName, async () =>
        {
            await report.WriteAsync(folder, CancellationToken.None);
            var plots = SweepPlots.WriteAll(report, folder);
            console.MarkupLineInterpolated($"wrote {SweepReport.JsonFile}, {SweepReport.CsvFile}{(plots.Count > 0 ? ", " + string.Join(", ", plots) : "")} to {folder.FullName}");
            Console.WriteLine($"see it again with: segcluster results {status.SweepId}{OutOption(folder.Parent!, "--root")}");  // plain: a command to copy, unwrapped
        });
        var unfinished = status.Count(TrialState.Cancelled) + status.Trials.Count(t => !t.State.IsFinished());
        if (unfinished > 0 && resumeCommand is not null)
            Console.WriteLine($"{unfinished} trials did not finish; run them with: {resumeCommand}");
        if (cancelled) return (130, status);
        return (written && status.State == SweepState.Completed && status.Count(TrialState.Completed) > 0 ? 0 : 1, status);
    }
}
