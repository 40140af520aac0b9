using System.Globalization;
using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Security;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// Whether a run resumed from another run's checkpoint may still point its status at the earlier best that checkpoint
/// records (<see cref="BestCheckpoint"/>), by checks of that file (<see cref="CheckAsync"/>) on the thread pool, not the
/// grain's thread. Used from an <see cref="ExperimentGrain"/>'s turns only; the time it reads is the grain's
/// <see cref="ExperimentGrain.Clock"/>.
/// </summary>
internal sealed class EarlierBestChecker(SpecPathPolicy paths, TimeProvider time)
{
    /// <summary>How old a check of the earlier best's file a status may report (statuses are polled every few hundred
    /// milliseconds while a run is followed), and how long a status waits for a new check before it reports the last one.</summary>
    private static readonly TimeSpan EarlierBestRecheck = TimeSpan.FromSeconds(1), EarlierBestWait = TimeSpan.FromSeconds(1);

    /// <summary>The latest check of the earlier best's file (<see cref="CheckAsync"/>), maybe still running, and
    /// the one that finished before it.</summary>
    private Task<EarlierBestCheck>? _earlierBestCheck;
    private EarlierBestCheck? _earlierBestChecked;
    private DateTimeOffset _startedAt;  // of the latest check
    /// <summary>The path roots' verdict on the last path checked: judged once per path (it reads links under the roots).
    /// Read and written by the checks only, which run one at a time.</summary>
    private (string? Path, string? Refusal)? _refusal;

    /// <summary>
    /// Where the run's best weights are (<see cref="ExperimentStatus.BestCheckpoint"/>): its own best.ckpt once a validation
    /// wrote one; before that, for a run resumed from another run's checkpoint, the earlier best that checkpoint records,
    /// checked when it is reported (<see cref="CheckAsync"/>), not once at the resume: the earlier run's folder
    /// may be deleted (or its best.ckpt written over by that run going on) at any time after, and a status read then must
    /// not point at a file that no longer holds those weights. It says why instead (<see cref="EarlierBest.Problem"/>).
    /// </summary>
    public (CheckpointRecord? Best, EarlierBest? Earlier) BestCheckpoint(ExperimentRecord r)
    {
        if (r.BestCheckpoint is not null || r.EarlierBest is not { } earlier) return (r.BestCheckpoint, null);
        var problem = LastEarlierBestCheck is { } check && check.Path == earlier.Path
            ? check.Problem
            : Unusable(earlier, $"'{earlier.Path}' has not answered a check within {EarlierBestWait.TotalSeconds:0} s (slow or hung storage)");
        return problem is null ? (earlier.Checkpoint, earlier) : (null, earlier with { Problem = problem });
    }

    /// <param name="Path">The file checked.</param>
    /// <param name="At">When the check started (on <see cref="ExperimentGrain.Clock"/>).</param>
    /// <param name="WrittenAt">The file's last write time then (a missing file's is a fixed one); null when it was not read.</param>
    /// <param name="Problem">Why the status must not point at the file; null when it holds the earlier best.</param>
    private sealed record EarlierBestCheck(string? Path, DateTimeOffset At, DateTime? WrittenAt, string? Problem);

    private EarlierBestCheck? LastEarlierBestCheck => _earlierBestCheck is { IsCompletedSuccessfully: true } done ? done.Result : _earlierBestChecked;

    /// <summary>
    /// Checks the earlier best's file of <paramref name="r"/>, the run's record (<see cref="Check"/>), on the
    /// thread pool: on the grain's thread, a stat or header read on shared storage that hangs held an Orleans scheduler
    /// thread as long. At most once per <see cref="EarlierBestRecheck"/>, and one check at a time: a status waits for the
    /// check it starts up to <see cref="EarlierBestWait"/>, and a status while one is still out does not wait beyond that
    /// (statuses are read concurrently: the second of two first reads waits with the first, rather than report a file
    /// that has not answered yet); all then report the last check that finished.
    /// </summary>
    public async Task CheckAsync(ExperimentRecord r)
    {
        if (r is not { BestCheckpoint: null, EarlierBest: { } earlier }) return;
        var now = time.GetUtcNow();
        if (_earlierBestCheck is { IsCompleted: false } running)
        {
            if (LastEarlierBestCheck?.Path != earlier.Path) await WaitAsync(running, _startedAt + EarlierBestWait - now);
            return;
        }
        var previous = LastEarlierBestCheck;
        if (previous is { } last && last.Path == earlier.Path && now - last.At < EarlierBestRecheck) return;
        (_earlierBestChecked, _startedAt) = (previous, now);
        await WaitAsync(_earlierBestCheck = Task.Run(() => Check(earlier, now, previous)), EarlierBestWait);
    }

    private async Task WaitAsync(Task check, TimeSpan upTo)
    {
        if (upTo <= TimeSpan.Zero) return;
        try { await check.WaitAsync(upTo, time); }
        catch (TimeoutException) { }  // left running: the next status after it finishes reports it
    }

    /// <summary>
    /// Whether the status may point at the earlier best's file: its <see cref="EarlierBestCheck.Problem"/> is null when the
    /// file holds those weights. The path comes from inside the resume checkpoint, not from the spec: held to the node's
    /// path roots like the spec's own paths before anything reads it, or a status would say whether a file outside them
    /// exists. The header is read again only when the file changed since <paramref name="previous"/>. Reads the file
    /// system: off the grain's thread.
    /// </summary>
    private EarlierBestCheck Check(EarlierBest earlier, DateTimeOffset now, EarlierBestCheck? previous)
    {
        try
        {
            if (_refusal is not { } judged || judged.Path != earlier.Path)
                _refusal = judged = (earlier.Path, paths.Refusal("the earlier best checkpoint", earlier.Path));
            if (judged.Refusal is { } refusal) return new(earlier.Path, now, null, refusal);
            var written = earlier.Path is null ? DateTime.MinValue : File.GetLastWriteTimeUtc(earlier.Path);
            if (previous is { } p && p.Path == earlier.Path && p.WrittenAt == written) return p with { At = now };
            var problem = new BestValidation(earlier.Metric, earlier.Score, earlier.Step, earlier.Path).PathProblem();
            return new(earlier.Path, now, written, problem is null ? null : Unusable(earlier, problem));
        }
        catch (Exception e)  // a check ends in an answer, whatever the file system did (a pipe cannot be read as a file)
        {
            return new(earlier.Path, now, null, Unusable(earlier, $"'{earlier.Path}' cannot be checked ({e.Message})"));
        }
    }

    private static string Unusable(EarlierBest earlier, string problem)
    {
        var best = string.Create(CultureInfo.InvariantCulture, $"{earlier.Metric} {earlier.Score:P2} at step {earlier.Step}");
        return $"the best so far ({best}) is the one the checkpoint this run resumed from records, and {problem}; " +
               "this run writes a best.ckpt of its own when a validation beats it";
    }
}
