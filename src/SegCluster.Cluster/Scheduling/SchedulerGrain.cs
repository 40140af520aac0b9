using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using Orleans.Concurrency;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Telemetry;
using SegCluster.Cluster.Training;

namespace SegCluster.Cluster.Scheduling;

/// <summary>
/// Worker inventory and gang scheduler. Reentrant, because experiments it starts call back into it
/// (Reform, Release) while it awaits them: every decision (allocate, queue, free) is made and recorded
/// synchronously before the first await, so interleaved calls never see a half-made allocation, and a
/// worker is held by at most one experiment. The queue is strict FIFO (no starvation of large gangs) among the experiments
/// the cluster can run: one that needs more workers of its kind than the live nodes have waits for nodes to join without
/// holding back the experiments behind it.
/// A gang is taken back from an experiment only when it is known to run nothing on it: the experiment refused to
/// start, re-forms, released it on ending, or its start failed otherwise (a timeout) and the experiment says it is neither
/// running nor starting. A failed start whose experiment runs, is still starting (checking its files) or cannot be asked
/// may launch the ring, so its gang stays allocated until the experiment ends or is cancelled, or a check finds it stopped
/// without launching.
/// </summary>
[Reentrant]
public sealed class SchedulerGrain(
    [PersistentState("scheduler", ClusterStorage.Scheduler)] IPersistentState<SchedulerRecord> state,
    IClusterMembershipService membership,
    SegClusterMetrics metrics,
    [FromKeyedServices(SchedulerGrain.LeaseClock)] TimeProvider time,
    SpecPathPolicy paths,
    ILogger<SchedulerGrain> logger) : Grain, ISchedulerGrain
{
    /// <summary>The service key of the clock leases lapse by (keyed, so a test's fake clock reaches only this grain).</summary>
    public const string LeaseClock = "segcluster-lease-clock";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _writes = new(1, 1);
    /// <summary>A check is asking holders whether they ended: the checks of other nodes' heartbeats skip that step.</summary>
    private bool _askingHolders;
    /// <summary>Holders that claimed their workers again while the check was asking (a sweep's reservation, a lease's
    /// renewal): the check's answer about them may be older than the claim, so it does not release them.</summary>
    private readonly HashSet<string> _claimedWhileAsking = [];
    /// <summary>Ids between their duplicate check and the end of their submission: a second submission of the same id
    /// is refused while the first one awaits, whatever the first has recorded so far.</summary>
    private readonly HashSet<string> _submitting = [];
    /// <summary>Queued experiments between their gang's allocation and the end of their start call. With
    /// <see cref="_submitting"/>, the experiments a check must not take for stopped starts: until it takes the start call
    /// up, an experiment says Pending and not starting, as one whose start stopped does.</summary>
    private readonly HashSet<string> _startingFromQueue = [];
    /// <summary>The re-formation in flight for each experiment (<see cref="ReformAsync"/>): a concurrent call joins it.</summary>
    private readonly Dictionary<string, Task<IReadOnlyList<string>>> _reforming = [];

    private SchedulerRecord Record => state.State;

    /// <summary>The inventory is exported by the node this grain is active on (<see cref="SegClusterMetrics.ForgetScheduler"/>):
    /// from activation, not only from its first write.</summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        RecordLoad();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        metrics.ForgetScheduler();
        return Task.CompletedTask;
    }

    public async Task RegisterWorkersAsync(IReadOnlyList<WorkerInfo> workers)
    {
        var added = workers.Where(w => !Record.Workers.TryGetValue(w.WorkerId, out var known) || known != w).ToList();
        if (added.Count == 0) return;
        foreach (var worker in added) Record.Workers[worker.WorkerId] = worker;
        logger.LogInformation("Registered workers {Workers}", string.Join(", ", added.Select(w => $"{w.WorkerId} ({w.Device})")));
        await PersistAsync();
        await StartQueuedAsync();
    }

    public async Task<SchedulerTicket> SubmitAsync(string experimentId, ExperimentSpec spec)
    {
        // Refusals carry no parameter name: Orleans sends the message with its " (Parameter '...')" and drops ParamName, so
        // the client would print it.
        if (RunIds.Problem(experimentId) is { } badId)
            throw new ArgumentException(badId);
        // The paths, dataset folder and starting checkpoint too, so an experiment that would queue is refused now, not when
        // its turn comes. The experiment checks again when it starts (the files may change while it waits).
        var errors = (await ExperimentPreflight.CheckAsync(spec, paths)).Errors;
        if (errors.Count > 0)
            throw new ArgumentException($"Experiment '{experimentId}' has an invalid spec:\n  - {string.Join("\n  - ", errors)}");
        if (Record.Allocations.ContainsValue(experimentId) || Record.Queue.Any(q => q.ExperimentId == experimentId) || !_submitting.Add(experimentId))
            throw new InvalidOperationException($"Experiment '{experimentId}' is already running, queued or being submitted; choose another id.");
        try
        {
            await RefuseUsedIdAsync(experimentId);
            return await PlaceAsync(experimentId, spec);
        }
        finally { _submitting.Remove(experimentId); }
    }

    /// <summary>
    /// An experiment that ran (or runs: a sweep's trial starts outside the gangs) holds no workers and is not queued once
    /// it ended, but its grain keeps the run: a new start of that id is refused there ("already started"). Accepted here,
    /// the submission would queue while the cluster is busy, its submitter would follow the old run's result (its mIoU,
    /// exit 0) for a spec that never ran, and its turn would free the gang without a word. Asked after the id is marked
    /// as being submitted, so a second submission cannot pass while this one awaits; the status interleaves with the
    /// experiment's other calls. A grain that cannot answer fails the submission (nothing is held yet).
    /// </summary>
    private async Task RefuseUsedIdAsync(string experimentId)
    {
        var status = await Experiment(experimentId).GetStatusAsync();
        if (status.State != ExperimentState.Pending || status.TotalSteps != 0 || status.Starting)
            throw new InvalidOperationException(
                $"Experiment '{experimentId}' was already used (state {(status.Starting ? "starting" : status.State.ToString().ToLowerInvariant())}); its run is kept under that id: choose another id.");
    }

    /// <summary>Starts the experiment on a gang, or queues it behind the experiments already waiting.</summary>
    private async Task<SchedulerTicket> PlaceAsync(string experimentId, ExperimentSpec spec)
    {
        var queued = new QueuedExperiment(experimentId, spec, spec.Workers, spec.Device);
        if (Record.Queue.Any(Runnable) || await AllocateAnsweringAsync(queued) is not { } gang)
        {
            Record.Queue.Add(queued);
            await PersistAsync();
            var waiting = WaitingReason(queued);
            logger.LogInformation("Experiment {Experiment} queued at {Position} ({Workers} × {Device}){Waiting}", experimentId, Record.Queue.Count, spec.Workers, spec.Device,
                waiting is null ? "" : ": " + waiting);
            return new SchedulerTicket(experimentId, [], Record.Queue.Count) { Waiting = waiting };
        }
        await PersistAsync();
        try
        {
            await Experiment(experimentId).StartAsync(spec, gang, scheduled: true);
        }
        catch (Exception e)
        {
            await HandleFailedStartAsync(experimentId, e);
            throw;
        }
        return new SchedulerTicket(experimentId, gang, 0);
    }

    /// <summary>
    /// A refusal (<see cref="IExperimentGrain.StartAsync"/> throws <see cref="ArgumentException"/> for an invalid spec,
    /// <see cref="InvalidOperationException"/> for an id already used, both before launching anything) frees the gang.
    /// Any other failure, a timeout above all, may come after the ring was launched on the gang: freeing it then would
    /// hand running workers to the next experiment, so the gang is freed only if the experiment says it is not running
    /// (<see cref="MayRunAsync"/>); otherwise it stays for the experiment's own end (or cancel), which releases it.
    /// </summary>
    private async Task HandleFailedStartAsync(string experimentId, Exception error)
    {
        if (error is not (ArgumentException or InvalidOperationException) && await MayRunAsync(experimentId) is not false)
        {
            logger.LogWarning("Experiment {Experiment} may have started despite {Error}; its workers stay allocated until it ends or is cancelled",
                experimentId, error.Message);
            return;
        }
        logger.LogWarning("Experiment {Experiment} did not start ({Error}); its workers are free again", experimentId, error.Message);
        await ReleaseAsync(experimentId);  // as an ending experiment: the gang back, then the experiments queued behind it start
    }

    /// <summary>
    /// Whether the experiment whose start failed may run on its gang: true while it is Running, the only state in which it
    /// holds workers, or still starting (Pending, checking the spec's files before it launches: a slow preflight outlasts
    /// the start call's timeout, and the launch that follows uses this gang). Pending and not starting: it never began the
    /// start, or its start was refused (which records the refusal and releases), and a start request that timed out before
    /// the grain took it up is dropped, not run late (Orleans drops expired requests: MessagingOptions.DropExpiredMessages,
    /// on by default). Ended: it released its workers itself, so freeing changes nothing. Null when the experiment cannot
    /// be asked (bounded by the probe timeout): unknown, so the gang is kept.
    /// </summary>
    private async Task<bool?> MayRunAsync(string experimentId) =>
        await AskStatusAsync(experimentId, "whether it started") is { } status ? status.State is ExperimentState.Running || status.Starting : null;

    /// <summary>
    /// An experiment holder ended (a final state), or never got going on its gang: Pending with no run and not starting,
    /// while this activation is not submitting or starting it (its start call may not have been taken up yet). That is a
    /// gang kept for a start that was still checking its files when its call timed out, and that then stopped without
    /// launching or recording a refusal (its node died, its record could not be written): nothing else would free it, and
    /// a cancel does not know the id.
    /// </summary>
    private bool ExperimentEnded(string experimentId, ExperimentStatus status) =>
        status.State.IsFinal()
        || status is { State: ExperimentState.Pending, TotalSteps: 0, Starting: false }
        && !_submitting.Contains(experimentId) && !_startingFromQueue.Contains(experimentId);

    /// <summary>
    /// What the holder (an experiment, a sweep's <see cref="ISchedulerGrain.SweepHolder"/>, or a lease) still uses of the
    /// workers it holds: none when it is known to have ended (a lease by lapsing); a running experiment's ring, so the
    /// rest of what it holds is a gang it gave up (a stale resume's, <see cref="ReturnAsync"/>, whose one call was lost);
    /// null, all of them, when it runs otherwise or cannot answer in time.
    /// </summary>
    private async Task<IReadOnlySet<string>?> InUseAsync(string holder)
    {
        if (Record.Leases.TryGetValue(holder, out var lapses)) return time.GetUtcNow().UtcDateTime > lapses ? NoWorkers : null;
        if (!ISchedulerGrain.IsSweepHolder(holder, out var sweepId))
        {
            if (await AskStatusAsync(holder, "whether it ended") is not { } status) return null;
            if (ExperimentEnded(holder, status)) return NoWorkers;
            // Workers are set when the ring launches and cleared when it breaks (before the re-formation's call here).
            return status is { State: ExperimentState.Running, WorkerIds.Count: > 0 } ? status.WorkerIds.ToHashSet() : null;
        }
        try
        {
            // No record (its start failed after the reservation, or its state was lost) is not running either.
            return await GrainFactory.GetGrain<ISweepGrain>(sweepId).IsRunningAsync().WaitAsync(ProbeTimeout) ? null : NoWorkers;
        }
        catch (Exception e)
        {
            logger.LogWarning("Could not ask sweep {Sweep} whether it ended ({Error})", sweepId, e.Message);
            return null;
        }
    }

    private static readonly IReadOnlySet<string> NoWorkers = new HashSet<string>();

    /// <summary>The experiment's status, or null when it cannot answer within the probe timeout.</summary>
    private async Task<ExperimentStatus?> AskStatusAsync(string experimentId, string question)
    {
        try
        {
            return await Experiment(experimentId).GetStatusAsync().WaitAsync(ProbeTimeout);
        }
        catch (Exception e)
        {
            logger.LogWarning("Could not ask {Experiment} {Question} ({Error})", experimentId, question, e.Message);
            return null;
        }
    }

    public async Task ReserveAsync(string sweepId, IReadOnlyList<string> workerIds)
    {
        var holder = ISchedulerGrain.SweepHolder(sweepId);
        var taken = workerIds.Where(w => Record.Allocations.TryGetValue(w, out var other) && other != holder)
            .Select(w => $"{w} (held by {Record.Allocations[w]})").ToList();
        if (taken.Count > 0)
            throw new InvalidOperationException($"Sweep '{sweepId}' cannot have its workers: {string.Join(", ", taken)}; wait for that to end, or cancel it.");
        Claimed(holder);  // a resumed sweep whose hold is still there reserves nothing new, but runs again
        var reserved = workerIds.Where(w => Record.Workers.ContainsKey(w) && !Record.Allocations.ContainsKey(w)).ToList();
        if (reserved.Count == 0) return;
        foreach (var worker in reserved) Record.Allocations[worker] = holder;
        await PersistAsync();
        logger.LogInformation("Sweep {Sweep} holds workers {Workers}", sweepId, string.Join(", ", reserved));
    }

    public async Task<IReadOnlyList<string>> LeaseAsync(string holder, int max, int min, string? device, TimeSpan duration)
    {
        if (min < 1 || max < min) throw new ArgumentOutOfRangeException(nameof(max), $"a lease needs 1 <= min <= max (min {min}, max {max}).");
        if (duration <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(duration), duration, "a lease needs a positive duration.");
        if (Record.Leases.ContainsKey(holder) || Record.Allocations.ContainsValue(holder))
            throw new InvalidOperationException($"'{holder}' already holds workers; release them before leasing again.");
        var free = GangAllocator.FreeInPackingOrder(Record, device, LiveNodes).Take(max).ToList();
        if (free.Count < min) throw new InvalidOperationException(GangAllocator.Shortfall(free.Count, Record.Workers.Count, min, device));
        foreach (var worker in free) Record.Allocations[worker] = holder;
        Record.Leases[holder] = time.GetUtcNow().UtcDateTime + duration;
        await PersistAsync();
        logger.LogInformation("{Holder} leases workers {Workers} for {Duration}", holder, string.Join(", ", free), duration);
        return free;
    }

    public async Task<bool> RenewLeaseAsync(string holder, TimeSpan duration)
    {
        if (!Record.Leases.ContainsKey(holder)) return false;
        Record.Leases[holder] = time.GetUtcNow().UtcDateTime + duration;
        Claimed(holder);
        await PersistAsync();
        return true;
    }

    public async Task ReleaseAsync(string experimentId)
    {
        var freed = Free(experimentId).Count + Record.Queue.RemoveAll(q => q.ExperimentId == experimentId) + (Record.Leases.Remove(experimentId) ? 1 : 0);
        if (freed == 0) return;
        await PersistAsync();
        _ = StartQueuedAfterReturningAsync();
    }

    public async Task ReturnAsync(string experimentId, IReadOnlyList<string> workerIds)
    {
        var returned = Free(experimentId, workerIds);
        if (returned.Count == 0) return;
        await PersistAsync();
        logger.LogInformation("Experiment {Experiment} gave back unused workers {Workers}", experimentId, string.Join(", ", returned));
        _ = StartQueuedAfterReturningAsync();
    }

    /// <summary>
    /// The queue starts after the releasing call has returned, not inside it: the releaser is an experiment finishing
    /// on a call from its own rank (or a cancel its ranks' reports queue behind), and the next experiment's start waits
    /// for that rank's loop to leave a shared worker, so starting inline deadlocked both until timeouts broke it
    /// (concurrent submissions: a 30 s grain-call timeout and a failed launch).
    /// </summary>
    private async Task StartQueuedAfterReturningAsync()
    {
        await Task.Yield();  // continues on this activation's scheduler, after the current turn
        try { await StartQueuedAsync(); }
        catch (Exception e) { logger.LogWarning("Starting queued experiments failed: {Error}", e.Message); }
    }

    /// <summary>
    /// Single-flight per experiment: a second call while one is in flight (the experiment's retry after its call timed out
    /// during the probes, or a new coordinator activation's retry) joins the first and gets its answer. Run side by side, the
    /// second call's Free took the first call's gang and each could then free the other's (a gang returned but listed as
    /// free), or both queued the experiment (the duplicate's turn later allocated a gang its resume ignored).
    /// </summary>
    public async Task<IReadOnlyList<string>> ReformAsync(string experimentId, int workers, string device)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "a ring needs at least one worker.");
        if (_reforming.TryGetValue(experimentId, out var inFlight)) return await inFlight;
        var reform = ReformOnceAsync(experimentId, workers, device);  // runs to its first await: its decisions are made
        _reforming[experimentId] = reform;
        try { return await reform; }
        finally { _reforming.Remove(experimentId); }
    }

    private async Task<IReadOnlyList<string>> ReformOnceAsync(string experimentId, int workers, string device)
    {
        // Idempotent, because the caller retries when its call is lost (this grain's node died mid-call, or the
        // call timed out after the decision was made): already waiting → keep waiting; holding a gang → re-pick it.
        if (Record.Queue.Any(q => q.ExperimentId == experimentId)) return [];
        Free(experimentId);
        ForgetDeadWorkers();
        // A re-forming experiment goes before the queue: it already waited its turn.
        var request = new QueuedExperiment(experimentId, null, workers, device);
        var gang = await AllocateAnsweringAsync(request);
        // Looked up again after the probes: a queued entry for this id must stay the only one (its turn allocates a gang).
        if (gang is null && !Record.Queue.Any(q => q.ExperimentId == experimentId)) Record.Queue.Insert(0, request);
        await PersistAsync();
        logger.LogInformation("Experiment {Experiment} re-forms on {Workers}", experimentId, gang is null ? "(waiting)" : string.Join(", ", gang));
        return gang ?? [];
    }

    public async Task CheckAsync()
    {
        if (ForgetDeadWorkers() > 0) await PersistAsync();
        // Every allocation of a worker no longer in the inventory is reported to its experiment, on every check until
        // the experiment re-forms or ends (which frees it; WorkersLostAsync is idempotent): not only the workers this
        // check forgot, since a re-formation's ForgetDeadWorkers forgets other experiments' workers too, and a notice
        // whose call failed must be given again. An experiment whose ranks all died has no rank left to notice.
        var orphaned = Record.Allocations.Where(a => !Record.Workers.ContainsKey(a.Key)).GroupBy(a => a.Value, a => a.Key).ToList();
        // A sweep's trial runner notices a lost node itself; its hold on the node's workers stays until the sweep ends (the
        // node may come back with the same worker ids, which the sweep still leases). A lease's holder sees its own calls fail.
        foreach (var group in orphaned.Where(g => !ISchedulerGrain.IsSweepHolder(g.Key, out _) && !Record.Leases.ContainsKey(g.Key)))
        {
            try { await Experiment(group.Key).WorkersLostAsync([.. group]); }
            catch (Exception e) { logger.LogWarning("Could not tell {Experiment} about lost workers: {Error}", group.Key, e.Message); }
        }
        await ReleaseEndedAsync();
        // The live nodes change without a call here (a node died, or one registered before the membership listed it
        // active): an experiment may now fit, or one ahead of it may no longer be runnable.
        // Started after this call returns, so a heartbeat does not wait for the starts.
        if (Record.Queue.Count > 0) _ = StartQueuedAfterReturningAsync();
    }

    /// <summary>
    /// An experiment that ends frees its gang with one <see cref="ReleaseAsync"/> call, and an ended experiment never
    /// calls again. That call can be lost: this grain's node died under it, or its write failed and this grain reloaded
    /// the record that still gives the experiment its gang. Nothing else would free those workers, and the strict-FIFO
    /// queue would wait behind them for good. So each check asks every holder of workers for its state (all at once,
    /// each bounded by the probe timeout; one that cannot answer is asked again at the next check) and releases those in
    /// a final state, as their own call would have: a final experiment runs nothing on its workers (it cancelled them,
    /// or its ranks completed). Likewise an experiment whose start stopped before it launched (<see cref="ExperimentEnded"/>).
    /// A running experiment's one <see cref="ReturnAsync"/> of a stale resume's gang can be lost the same way: the
    /// workers it holds outside the ring it reports are returned for it (returning twice changes nothing).
    /// One check at a time asks: every node's heartbeat checks.
    /// An answer is as old as its question, and the check waits for the slowest holder (up to the probe timeout) before it
    /// releases: a sweep that said it was not running may run again meanwhile (`sweep --resume`; its reservation changes
    /// nothing, the hold being there), a lapsed lease may be renewed, and a running experiment's ring may break and be
    /// re-formed on other workers. All claim their workers through this grain, so a holder that claimed them while the
    /// check asked is kept (<see cref="Claimed"/>, looked up right before each release, as a claim may also come while an
    /// earlier release is written); the next check asks it again. Experiments do not come back from a final state, and
    /// one that never got going has no way to start again while it holds a gang.
    /// </summary>
    private async Task ReleaseEndedAsync()
    {
        if (_askingHolders) return;
        _askingHolders = true;
        try
        {
            var holders = Record.Allocations.Values.Distinct().ToList();
            var inUse = await Task.WhenAll(holders.Select(InUseAsync));
            foreach (var (id, used) in holders.Zip(inUse))
            {
                if (used is null || _claimedWhileAsking.Contains(id)) continue;
                if (used.Count == 0)
                {
                    logger.LogWarning("{Holder} ended without its workers being released; releasing them now", id);
                    await ReleaseAsync(id);
                    continue;
                }
                var unused = Record.Allocations.Where(a => a.Value == id && !used.Contains(a.Key)).Select(a => a.Key).ToList();
                if (unused.Count == 0) continue;
                logger.LogWarning("Experiment {Experiment} runs on {Ring} but still holds {Workers}; returning them for it",
                    id, string.Join(", ", used), string.Join(", ", unused));
                await ReturnAsync(id, unused);
            }
        }
        finally
        {
            _askingHolders = false;
            _claimedWhileAsking.Clear();
        }
    }

    /// <summary>The holder claimed its workers (a sweep reserved them, a lease was renewed): an answer the running check
    /// got from it before now is stale.</summary>
    private void Claimed(string holder)
    {
        if (_askingHolders) _claimedWhileAsking.Add(holder);
    }

    public Task<SchedulerSnapshot> GetSnapshotAsync() => Task.FromResult(new SchedulerSnapshot(
        [.. Record.Workers.Values.OrderBy(w => w.WorkerId, StringComparer.Ordinal)
            .Select(w => new WorkerAllocation(w, Record.Allocations.GetValueOrDefault(w.WorkerId)))],
        [.. Record.Queue.Select(q => q.ExperimentId)])
    {
        Waiting = Record.Queue.Select(q => (q.ExperimentId, Reason: WaitingReason(q))).Where(w => w.Reason is not null)
            .ToDictionary(w => w.ExperimentId, w => w.Reason!),
    });

    /// <summary>Why a queued experiment cannot start by waiting for running ones (<see cref="QueueCapacity.WaitingReason"/>).</summary>
    private string? WaitingReason(QueuedExperiment queued) => QueueCapacity.WaitingReason(Record, LiveNodes, queued);

    /// <summary>Starts queued experiments in order while the first one the cluster can run fits; those it cannot run (more
    /// workers than the live nodes have of their kind) are passed over, not waited for.</summary>
    private async Task StartQueuedAsync()
    {
        while (Record.Queue.FindIndex(Runnable) is var head and >= 0 && TryAllocate(Record.Queue[head]) is { } gang)
        {
            var next = Record.Queue[head];
            Record.Queue.RemoveAt(head);
            _startingFromQueue.Add(next.ExperimentId);
            try
            {
                await PersistAsync();
                try
                {
                    if (next.Spec is { } spec) await Experiment(next.ExperimentId).StartAsync(spec, gang, scheduled: true);
                    else await Experiment(next.ExperimentId).ResumeAsync(gang);
                }
                catch (Exception e)
                {
                    await HandleFailedStartAsync(next.ExperimentId, e);
                }
            }
            finally { _startingFromQueue.Remove(next.ExperimentId); }
        }
    }

    /// <summary>
    /// After a failure the membership table may still list a killed node as active for a few seconds; a gang
    /// handed out then would fail again at once. So each member is asked to describe itself (bounded): one that
    /// cannot answer is forgotten (a live node registers it again on its next heartbeat) and the gang re-picked.
    /// All members at once: one after another, the 8 silent workers of a dead node took 8 probe timeouts, past the
    /// 30 s timeout of the submission or re-formation waiting here (whose retry then raced this call's Free).
    /// </summary>
    private async Task<IReadOnlyList<string>?> AllocateAnsweringAsync(QueuedExperiment request)
    {
        while (TryAllocate(request) is { } gang)
        {
            var silent = (await Task.WhenAll(gang.Select(ProbeAsync))).OfType<string>().ToList();
            if (silent.Count == 0) return gang;
            // Only this gang: the id may hold other workers by now (an interleaved call's allocation), not this call's to free.
            Free(request.ExperimentId, gang);
            foreach (var id in silent) Record.Workers.Remove(id);
        }
        return null;
    }

    /// <returns>The worker's id when it does not answer the probe in time, else null.</returns>
    private async Task<string?> ProbeAsync(string workerId)
    {
        try
        {
            await GrainFactory.GetGrain<IWorkerGrain>(workerId).DescribeAsync().WaitAsync(ProbeTimeout);
            return null;
        }
        catch (Exception e)
        {
            logger.LogWarning("Worker {Worker} did not answer ({Error}); leaving it out", workerId, e.Message);
            return workerId;
        }
    }

    /// <summary>Whether the request holds the queue (<see cref="QueueCapacity.Runnable"/>): one the live nodes can never
    /// run is passed over.</summary>
    private bool Runnable(QueuedExperiment request) => QueueCapacity.Runnable(Record, LiveNodes, request);

    /// <summary>The nodes the membership lists as active: the only ones workers are allocated or counted on.</summary>
    private ISet<string> LiveNodes => membership.CurrentSnapshot.InState(SiloStatus.Active);

    private IReadOnlyList<string>? TryAllocate(QueuedExperiment request)
    {
        var gang = GangAllocator.TryAllocate(Record, request.Workers, request.Device, LiveNodes);
        if (gang is null) return null;
        foreach (var id in gang) Record.Allocations[id] = request.ExperimentId;
        Claimed(request.ExperimentId);  // a running check's answer about the ring it runs on predates this gang
        return gang;
    }

    /// <summary>Frees the workers allocated to <paramref name="experimentId"/> (of <paramref name="only"/>, when given: others
    /// it holds stay); returns them.</summary>
    private List<string> Free(string experimentId, IEnumerable<string>? only = null)
    {
        var held = (only ?? Record.Allocations.Keys).Distinct().Where(w => Record.Allocations.GetValueOrDefault(w) == experimentId).ToList();
        foreach (var id in held) Record.Allocations.Remove(id);
        return held;
    }

    /// <summary>Workers of nodes the membership table lists only as dead: removed from the inventory (a node
    /// that comes back registers again). Their allocations stay until the experiment re-forms or ends.</summary>
    /// <returns>How many workers were forgotten.</returns>
    private int ForgetDeadWorkers()
    {
        var dead = membership.CurrentSnapshot.Lost();
        var lost = Record.Workers.Values.Where(w => dead.Contains(w.NodeId)).ToList();
        foreach (var worker in lost)
        {
            Record.Workers.Remove(worker.WorkerId);
            logger.LogWarning("Worker {Worker} lost: node {Node} left the cluster", worker.WorkerId, worker.NodeId);
        }
        return lost.Count;
    }

    private void RecordLoad()
    {
        // Over known workers only: allocations of workers forgotten with a lost node stay until their experiment re-forms.
        var allocated = Record.Workers.Keys.Count(Record.Allocations.ContainsKey);
        metrics.RecordScheduler(Record.Queue.Count, Record.Workers.Count - allocated, allocated);
    }

    private IExperimentGrain Experiment(string id) => GrainFactory.GetGrain<IExperimentGrain>(id);

    /// <summary>Writes one at a time: interleaved turns of this reentrant grain must not race on the etag.</summary>
    private async Task PersistAsync()
    {
        RecordLoad();
        await _writes.WaitAsync();
        try { await state.WriteRetryingAsync(this, logger, "The scheduler"); }
        finally { _writes.Release(); }
    }
}
