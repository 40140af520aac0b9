using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Training;

/// <summary>
/// Rank 0's checkpoint files (step-N.ckpt, best.ckpt) and the reports that tell the coordinator about them, off the
/// training thread (training.async_checkpoint; torch.distributed.checkpoint.async_save, torchtitan's async
/// checkpointing). <see cref="Save"/> copies the trainer's state to host memory within the step
/// (<see cref="CheckpointSnapshot"/>); a background task writes the file (temp file, fsync, rename) and only then runs
/// its report, so the coordinator never records a checkpoint that is not durably on disk. The other ranks do not wait
/// for the write: written within the step, a file slower than Collectives:Timeout held rank 0 out of the next step's
/// all-reduce until its successor gave up on it, and every re-formation failed the same way.
/// Contract: call from the training thread only. At most one snapshot, so at most one write in flight: a checkpoint of
/// a later step waits for the writes before it (only when writing is slower than the checkpoint interval), then copies
/// into the same host memory; the files of one step (best.ckpt, then step-N.ckpt) share its snapshot. Reports run in
/// the order they were queued, a report with no file (<see cref="Report"/>) after the files queued before it. The first
/// failure (a write, a report) stops the work queued after it and fails the run at the next call here (the loop asks
/// after every step, <see cref="ThrowIfFailed"/>) or at <see cref="Complete"/>, its message naming the file.
/// <see cref="Dispose"/> (cancel, a failed step) waits for the write in flight, as a write within the step was always
/// finished, and disposes the snapshot. With async off the writes and reports run on the calling thread, from the same
/// snapshot, which <see cref="EndStep"/> gives back: no host copy is held between checkpoints.
/// </summary>
public sealed class CheckpointWriter(bool background, Action<string, Action> writeFile, ILogger logger, string experimentId) : IDisposable
{
    private Task _queue = Task.CompletedTask;
    private CheckpointSnapshot? _snapshot;
    private bool _failureThrown;

    /// <summary>Writes <paramref name="trainer"/>'s state at its current step to <paramref name="path"/> (atomically), then
    /// runs <paramref name="report"/>, which tells the coordinator about the file.</summary>
    /// <exception cref="CheckpointWriteException">An earlier write or report failed (this one is not made).</exception>
    public void Save(DataParallelTrainer trainer, string path, string? spec, IReadOnlyList<string> classNames, BestValidation? best, Func<Task> report)
    {
        if (_snapshot?.CompletedSteps != trainer.CompletedSteps)
        {
            // The previous snapshot's writes must end before it is written over; so a write in flight holds up the next
            // checkpoint, not the steps between.
            Drain();
            var clock = Stopwatch.StartNew();
            if (_snapshot is null) _snapshot = CheckpointSnapshot.Take(trainer);
            else _snapshot.Refresh(trainer);
            logger.LogDebug("Rank 0 of {Experiment}: step {Step}'s state ({Megabytes:F1} MB) copied to host memory in {Milliseconds:F1} ms",
                experimentId, trainer.CompletedSteps, _snapshot.Bytes / 1e6, clock.Elapsed.TotalMilliseconds);
        }
        var snapshot = _snapshot;
        Submit(path, () => writeFile(path, () => CheckpointStore.Write(path, snapshot, spec, classNames, best)), report);
    }

    /// <summary>Runs <paramref name="report"/> (<paramref name="what"/> it reports, for its failure's message) after the
    /// files and reports queued before it.</summary>
    public void Report(string what, Func<Task> report) => Submit(what, write: null, report);

    /// <summary>Throws the failure of a write or report that has ended, if one failed.</summary>
    public void ThrowIfFailed()
    {
        if (_queue.IsFaulted) Drain();
    }

    /// <summary>After every step: <see cref="ThrowIfFailed"/>; with async off, also gives back the step's snapshot (its files
    /// are written by now).</summary>
    public void EndStep()
    {
        ThrowIfFailed();
        if (background) return;
        _snapshot?.Dispose();
        _snapshot = null;
    }

    /// <summary>Waits for every queued write and report (the end of training, before the run reports it completed).</summary>
    /// <exception cref="CheckpointWriteException">A write or report failed.</exception>
    public void Complete()
    {
        Drain();
        _snapshot?.Dispose();
        _snapshot = null;
    }

    /// <summary>Waits for the write in flight (a cancelled or failed run: the file is finished and its report made, which the
    /// coordinator ignores when the attempt is over) and gives back the snapshot. A failure not yet thrown is logged.</summary>
    public void Dispose()
    {
        var thrown = _failureThrown;
        try
        {
            Drain();
        }
        catch (CheckpointWriteException e)
        {
            if (!thrown) logger.LogWarning("Rank 0 of {Experiment}: {Error}", experimentId, e.Message);
        }
        finally
        {
            _snapshot?.Dispose();
            _snapshot = null;
        }
    }

    private void Drain()
    {
        try
        {
            _queue.GetAwaiter().GetResult();
        }
        catch (CheckpointWriteException)
        {
            _failureThrown = true;
            throw;
        }
    }

    private void Submit(string subject, Action? write, Func<Task> report)
    {
        if (background) Enqueue(subject, write, report);
        else Run(subject, write, report);
    }

    private void Enqueue(string subject, Action? write, Func<Task> report)
    {
        ThrowIfFailed();
        var previous = _queue;
        _queue = Task.Run(async () =>
        {
            await previous;  // a failure ends the queue: nothing after it is written or reported
            // A thread of its own: a write may block on slow storage for minutes, which the thread pool should not pay for.
            if (write is not null) await Task.Factory.StartNew(() => Write(subject, write), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await ReportAsync(subject, report, written: write is not null);
        });
    }

    private static void Run(string subject, Action? write, Func<Task> report)
    {
        if (write is not null) Write(subject, write);
        ReportAsync(subject, report, written: write is not null).GetAwaiter().GetResult();
    }

    private static void Write(string path, Action write)
    {
        try
        {
            write();
        }
        catch (Exception e)
        {
            throw new CheckpointWriteException($"checkpoint '{path}' could not be written: {e.Message}", e);
        }
    }

    /// <param name="subject">The file reported (<paramref name="written"/>), or what the report is about.</param>
    private static async Task ReportAsync(string subject, Func<Task> report, bool written)
    {
        try
        {
            await report();
        }
        catch (Exception e)
        {
            throw new CheckpointWriteException(written
                ? $"checkpoint '{subject}' was written but the coordinator did not record it: {e.Message}"
                : $"{subject} could not be reported to the coordinator: {e.Message}", e);
        }
    }
}

/// <summary>A checkpoint that could not be written, or whose report did not reach the coordinator: the run fails with it
/// (retried on a re-formed ring, from the last checkpoint the coordinator recorded).</summary>
public sealed class CheckpointWriteException(string message, Exception inner) : IOException(message, inner);
