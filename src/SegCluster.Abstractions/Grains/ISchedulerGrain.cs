using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Abstractions.Grains;

/// <summary>
/// The cluster's worker inventory and gang scheduler (one grain, key <see cref="Default"/>). Nodes register
/// their workers; an experiment gets all of its workers at once or waits in a FIFO queue; a worker is never
/// allocated to two experiments. Sweeps submit their trials here too.
/// </summary>
[Alias("SegCluster.ISchedulerGrain")]
public interface ISchedulerGrain : IGrainWithStringKey
{
    public const string Default = "default";

    /// <summary>The holder name of a sweep's reserved workers: '#' cannot appear in an experiment id (RunIds), so no
    /// experiment is ever mistaken for it.</summary>
    public static string SweepHolder(string sweepId) => $"sweep#{sweepId}";

    public static bool IsSweepHolder(string holder, out string sweepId)
    {
        sweepId = holder.StartsWith("sweep#", StringComparison.Ordinal) ? holder["sweep#".Length..] : "";
        return sweepId.Length > 0;
    }

    /// <summary>A node announces its workers (idempotent; called at node start and periodically).</summary>
    [Alias("RegisterWorkers")] Task RegisterWorkersAsync(IReadOnlyList<WorkerInfo> workers);

    /// <summary>Validates the spec, then starts the experiment on a gang of free workers of the spec's device
    /// kind, or queues it. Throws <see cref="ArgumentException"/> listing the spec's errors (nothing queued),
    /// and <see cref="InvalidOperationException"/> when the id is already used: running, queued, being submitted, or a
    /// run its experiment grain keeps (ended ones too).</summary>
    [Alias("Submit")] Task<SchedulerTicket> SubmitAsync(string experimentId, ExperimentSpec spec);

    /// <summary>Holds a sweep's workers (as <see cref="SweepHolder"/>) so no experiment, `eval` or other sweep is given them
    /// while the sweep starts its trials on them, until <c>ReleaseAsync(SweepHolder(sweepId))</c> or the sweep is found
    /// ended by a check. Idempotent for the same sweep; workers not registered yet are not held. Throws
    /// <see cref="InvalidOperationException"/> naming each worker another experiment or sweep holds (nothing is held then).</summary>
    [Alias("Reserve")] Task ReserveAsync(string sweepId, IReadOnlyList<string> workerIds);

    /// <summary>The holder name of a lease taken for <paramref name="purpose"/> (eval, …): '#' keeps it apart from experiment ids.</summary>
    public static string LeaseHolder(string purpose, string id) => $"{purpose}#{id}";

    /// <summary>Holds up to <paramref name="max"/> free workers of the <paramref name="device"/> kind (any kind when null) on live
    /// nodes for work outside the gang scheduler (`eval --cluster`), so no experiment or sweep is given them meanwhile. The
    /// lease lapses <paramref name="duration"/> after it was taken or last renewed (<see cref="RenewLeaseAsync"/>), and a check
    /// then frees the workers, so a holder that died does not keep them. Returns the leased worker ids; throws
    /// <see cref="InvalidOperationException"/> naming the shortfall (nothing held) when fewer than <paramref name="min"/> are
    /// free, or when <paramref name="holder"/> already holds a lease.</summary>
    [Alias("Lease")] Task<IReadOnlyList<string>> LeaseAsync(string holder, int max, int min, string? device, TimeSpan duration);

    /// <summary>Extends the holder's lease to <paramref name="duration"/> from now; false when it has no lease (it lapsed and its
    /// workers were freed, or it was released).</summary>
    [Alias("RenewLease")] Task<bool> RenewLeaseAsync(string holder, TimeSpan duration);

    /// <summary>The experiment ended (any final state): frees its workers (or drops it from the queue) and
    /// starts queued experiments that now fit. Also how a sweep or a lease holder gives its workers back.</summary>
    [Alias("Release")] Task ReleaseAsync(string experimentId);

    /// <summary>Gives back the workers of <paramref name="workerIds"/> the experiment holds and does not use (a stale resume's
    /// gang: its ring was formed on another one meanwhile), and starts queued experiments that now fit. Its other workers stay.
    /// Idempotent; a lost call is made up for by <see cref="CheckAsync"/>.</summary>
    [Alias("Return")] Task ReturnAsync(string experimentId, IReadOnlyList<string> workerIds);

    /// <summary>Called by an experiment whose ring broke: frees its workers, forgets workers whose node left
    /// the cluster, and returns a new gang of <paramref name="workers"/> of the <paramref name="device"/> kind, or an
    /// empty list when the experiment must wait (it is then resumed with <c>IExperimentGrain.ResumeAsync</c> once
    /// workers free up). Idempotent, so a caller whose call was lost retries: an experiment already waiting gets
    /// an empty list again, one holding a gang gets a freshly picked one; a call while another for the same experiment is in
    /// flight gets that call's answer.</summary>
    [Alias("Reform")] Task<IReadOnlyList<string>> ReformAsync(string experimentId, int workers, string device);

    /// <summary>Forgets workers of nodes that left the cluster and tells their experiments, releases the workers of
    /// experiments that ended but whose <see cref="ReleaseAsync"/> was lost, and returns those a running experiment holds
    /// outside its ring, whose <see cref="ReturnAsync"/> was lost (watchdog tick).</summary>
    [Alias("Check")] Task CheckAsync();

    [Alias("GetSnapshot")] Task<SchedulerSnapshot> GetSnapshotAsync();
}
