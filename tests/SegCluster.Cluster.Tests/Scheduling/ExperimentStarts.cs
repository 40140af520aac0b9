using System.Collections.Concurrent;

namespace SegCluster.Cluster.Tests.Scheduling;

/// <summary>
/// What <see cref="ScriptedExperimentGrain"/> does when the scheduler starts it. By default the ring launches and the
/// call answers at once. A held id launches, then answers only when released. A timed-out id launches, then fails with
/// the <see cref="TimeoutException"/> Orleans raises when a reply is late (what the scheduler sees of a slow launch,
/// without waiting out a real call timeout). A refused id throws before launching, as the real grain does for an id
/// already used.
/// </summary>
internal sealed class ExperimentStarts
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _held = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _reached = new();
    private readonly ConcurrentDictionary<string, string> _refusals = new();
    private readonly ConcurrentDictionary<string, bool> _timeouts = new();

    /// <summary>Every launch, in order: experiment id and the gang it was given.</summary>
    public ConcurrentQueue<(string ExperimentId, IReadOnlyList<string> Workers)> Launches { get; } = new();

    public void Hold(string experimentId) => _held[experimentId] = NewSignal();

    public void TimeOut(string experimentId) => _timeouts[experimentId] = true;

    public void Refuse(string experimentId, string reason) => _refusals[experimentId] = reason;

    /// <summary>Completes when a start of <paramref name="experimentId"/> has launched (held or not).</summary>
    public Task Reached(string experimentId) => _reached.GetOrAdd(experimentId, _ => NewSignal()).Task;

    /// <summary>Lets every held start answer, so no call is left running when the cluster stops.</summary>
    public void ReleaseAll()
    {
        foreach (var gate in _held.Values) gate.TrySetResult();
    }

    public async Task StartAsync(string experimentId, IReadOnlyList<string> workers)
    {
        if (_refusals.TryGetValue(experimentId, out var reason))
            throw new InvalidOperationException($"Experiment '{experimentId}' refused to start: {reason}");
        Launches.Enqueue((experimentId, workers));
        _reached.GetOrAdd(experimentId, _ => NewSignal()).TrySetResult();
        if (_timeouts.ContainsKey(experimentId))
            throw new TimeoutException($"Response did not arrive on time for the start of '{experimentId}' (scripted).");
        if (_held.TryGetValue(experimentId, out var gate)) await gate.Task;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
