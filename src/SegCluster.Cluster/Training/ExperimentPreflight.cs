using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Security;
using SegCluster.Vision.Training;

namespace SegCluster.Cluster.Training;

/// <summary>
/// Everything a spec must pass on the machine that reads its files before any rank trains: its paths lie under the
/// node's roots (<see cref="SpecPathPolicy"/>, checked first, so a refused path is never looked at), the spec's own validation,
/// the dataset folder (which decides class and sample counts, <see cref="DatasetSpecResolver"/>) and the checkpoint of
/// training.resume_from / load_from (<see cref="StartingCheckpoint"/>). Run by the CLI for an embedded run, by the
/// scheduler on submit (so a queued experiment is refused then, not when it leaves the queue) and by the experiment
/// when it starts (the files may have changed while it waited).
/// </summary>
public static class ExperimentPreflight
{
    /// <summary>The resolved spec, the checkpoint the first ring resumes from, every problem found, a note worth a
    /// warning (a resume with another data order), and the best validation that checkpoint records for this run
    /// (<see cref="StartingCheckpoint.Resolve"/>).</summary>
    /// <param name="paths">The roots the spec's paths must lie under: the node's, or <see cref="SpecPathPolicy.Unrestricted"/>
    /// for a run on its user's own machine.</param>
    public static async Task<(ExperimentSpec Spec, CheckpointRecord? ResumeFrom, List<string> Errors, string? Note, BestValidation? ResumedBest)> CheckAsync(
        ExperimentSpec spec, SpecPathPolicy paths)
    {
        var refused = await Task.Run(() => paths.Refusals(spec));  // reads links under the roots: off the grain scheduler too
        if (refused.Count > 0) return (spec, null, refused, null, null);
        // Both steps run off the caller's (grain) scheduler: resolving walks the dataset folder (tens of thousands of
        // files, maybe on NFS), and the checkpoint check builds the network and reads the whole checkpoint. On it, they
        // held up every other call to the scheduler (heartbeats, re-formations, snapshots) for as long.
        var (resolved, errors) = await Task.Run(() => DatasetSpecResolver.ValidateAndResolve(spec));
        if (errors.Count > 0) return (resolved, null, errors, null, null);
        var (resumeFrom, checkpointErrors, note, resumedBest) = await Task.Run(() => StartingCheckpoint.Resolve(resolved));
        return (resolved, resumeFrom, checkpointErrors, note, resumedBest);
    }
}
