using System.Collections.Concurrent;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// What <see cref="ScriptedExperimentGrain"/> does when the scheduler starts it. By default the ring launches and the
/// call answers at once. A held id launches, then answers only when released. A timed-out id launches, then fails with
/// the <see cref="TimeoutException"/> Orleans raises when a reply is late (what the scheduler sees of a slow launch,
/// without waiting out a real call timeout). A dropped id fails with that exception without launching: the request
/// waited past its timeout before the grain took it up, and Orleans drops expired requests. A refused id throws before
/// launching, as the real grain does for an id already used. An id that times out in its preflight takes the start up and
/// fails with that exception while it still checks the spec's files: it reports Starting, launches nothing, and stops
/// starting only when told (its node died, or it failed without recording anything). A gated id waits before any of
/// that until opened.
/// </summary>
internal sealed class ExperimentStarts
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _held = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _reached = new();
    private readonly ConcurrentDictionary<string, string> _refusals = new();
    private readonly ConcurrentDictionary<string, bool> _timeouts = new();
    private readonly ConcurrentDictionary<string, bool> _drops = new();
    private readonly ConcurrentDictionary<string, bool> _preflightTimeouts = new();
    private readonly ConcurrentDictionary<string, bool> _starting = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _arrived = new();
    private readonly ConcurrentDictionary<string, bool> _ended = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _statusGates = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _statusAsked = new();
    private readonly ConcurrentDictionary<string, bool> _reportsRing = new();

    /// <summary>Every launch, in order: experiment id and the gang it was given.</summary>
    public ConcurrentQueue<(string ExperimentId, IReadOnlyList<string> Workers)> Launches { get; } = new();

    /// <summary>Every notice of lost workers the scheduler gave, in order.</summary>
    public ConcurrentQueue<(string ExperimentId, IReadOnlyList<string> Workers)> LostNotices { get; } = new();

    public void Hold(string experimentId) => _held[experimentId] = NewSignal();

    public void TimeOut(string experimentId) => _timeouts[experimentId] = true;

    public void Drop(string experimentId) => _drops[experimentId] = true;

    public void Refuse(string experimentId, string reason) => _refusals[experimentId] = reason;

    public void TimeOutInPreflight(string experimentId) => _preflightTimeouts[experimentId] = true;

    /// <summary>A start that timed out in its preflight stopped without launching or recording a refusal.</summary>
    public void StopStarting(string experimentId) => _starting.TryRemove(experimentId, out _);

    /// <summary>Whether a start of <paramref name="experimentId"/> is still in its preflight: what the experiment's status says.</summary>
    public bool Starting(string experimentId) => _starting.ContainsKey(experimentId);

    /// <summary>A start of <paramref name="experimentId"/> waits, before it launches, refuses or is dropped, until <see cref="Open"/>.</summary>
    public void Gate(string experimentId) => _gates[experimentId] = NewSignal();

    public void Open(string experimentId) => _gates[experimentId].TrySetResult();

    /// <summary>Completes when a start of <paramref name="experimentId"/> has been called (gated or not).</summary>
    public Task Arrived(string experimentId) => _arrived.GetOrAdd(experimentId, _ => NewSignal()).Task;

    /// <summary>Completes when a start of <paramref name="experimentId"/> has launched (held or not).</summary>
    public Task Reached(string experimentId) => _reached.GetOrAdd(experimentId, _ => NewSignal()).Task;

    /// <summary>The status of <paramref name="experimentId"/> answers only after <see cref="OpenStatus"/>: a slow holder.</summary>
    public void GateStatus(string experimentId)
    {
        _statusAsked[experimentId] = NewSignal();
        _statusGates[experimentId] = NewSignal();
    }

    public void OpenStatus(string experimentId) => _statusGates[experimentId].TrySetResult();

    /// <summary>Completes when the status of <paramref name="experimentId"/> has been asked since <see cref="GateStatus"/>
    /// (a submission asks it too).</summary>
    public Task StatusAsked(string experimentId) => _statusAsked[experimentId].Task;

    /// <summary>What the experiment's status does before it answers.</summary>
    public async Task StatusAsync(string experimentId)
    {
        if (_statusAsked.TryGetValue(experimentId, out var asked)) asked.TrySetResult();
        if (_statusGates.TryGetValue(experimentId, out var opened)) await opened.Task;
    }

    /// <summary>Lets every held start and status answer, so no call is left running when the cluster stops.</summary>
    public void ReleaseAll()
    {
        foreach (var gate in _held.Values.Concat(_gates.Values).Concat(_statusGates.Values)) gate.TrySetResult();
    }

    /// <summary>Whether a start of <paramref name="experimentId"/> launched: what the experiment's status says.</summary>
    public bool Launched(string experimentId) => Launches.Any(l => l.ExperimentId == experimentId);

    /// <summary>From now on the experiment's status says it completed (it calls nothing itself: the test releases it).</summary>
    public void End(string experimentId) => _ended[experimentId] = true;

    public bool Ended(string experimentId) => _ended.ContainsKey(experimentId);

    /// <summary>From now on the experiment's status names the workers of its last launch as its ring, as a running
    /// coordinator does (by default it names none, so a check leaves a ring the test re-forms by hand alone).</summary>
    public void ReportRing(string experimentId) => _reportsRing[experimentId] = true;

    /// <summary>The ring the experiment's status names: its last launch's workers once <see cref="ReportRing"/> was called.</summary>
    public IReadOnlyList<string> Ring(string experimentId) =>
        _reportsRing.ContainsKey(experimentId) ? Launches.LastOrDefault(l => l.ExperimentId == experimentId).Workers ?? [] : [];

    public async Task StartAsync(string experimentId, IReadOnlyList<string> workers)
    {
        _arrived.GetOrAdd(experimentId, _ => NewSignal()).TrySetResult();
        if (_gates.TryGetValue(experimentId, out var opened)) await opened.Task;
        if (_drops.ContainsKey(experimentId)) throw LateReply(experimentId);
        if (_refusals.TryGetValue(experimentId, out var reason))
            throw new InvalidOperationException($"Experiment '{experimentId}' refused to start: {reason}");
        if (_preflightTimeouts.ContainsKey(experimentId))
        {
            _starting[experimentId] = true;
            throw LateReply(experimentId);
        }
        Launches.Enqueue((experimentId, workers));
        _reached.GetOrAdd(experimentId, _ => NewSignal()).TrySetResult();
        if (_timeouts.ContainsKey(experimentId)) throw LateReply(experimentId);
        if (_held.TryGetValue(experimentId, out var gate)) await gate.Task;
    }

    private static TimeoutException LateReply(string experimentId) =>
        new($"Response did not arrive on time for the start of '{experimentId}' (scripted).");

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
