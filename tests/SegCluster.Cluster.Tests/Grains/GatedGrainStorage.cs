using System.Collections.Concurrent;
using Orleans.Storage;

namespace SegCluster.Cluster.Tests.Grains;

/// <summary>Grain state in memory (shared by every silo given this instance) whose writes can be held open, as a slow
/// Redis write would be, to see what waits behind them, or made to fail.</summary>
internal sealed class GatedGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<(string State, GrainId Grain), object> _states = new();
    private TaskCompletionSource? _gate;

    /// <summary>Completes when a write reaches a held gate.</summary>
    public TaskCompletionSource WriteHeld { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Seed<T>(string stateName, GrainId grain, T state) where T : notnull => _states[(stateName, grain)] = state;

    /// <summary>Holds every write from now until <see cref="Release"/>.</summary>
    public void Hold()
    {
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        WriteHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Release() => _gate?.TrySetResult();

    private int _failures;
    private string? _failing;

    /// <summary>The next <paramref name="count"/> writes (of the state named <paramref name="stateName"/>; any when null) throw,
    /// as writes to a Redis that is failing over do.</summary>
    public void FailNextWrites(int count, string? stateName = null) => (_failures, _failing) = (count, stateName);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_states.TryGetValue((stateName, grainId), out var state))
            (grainState.State, grainState.RecordExists, grainState.ETag) = ((T)state, true, "1");
        return Task.CompletedTask;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if ((_failing is null || _failing == stateName) && Interlocked.Decrement(ref _failures) >= 0)
            throw new IOException("storage unavailable (scripted)");
        if (_gate is { } gate)
        {
            WriteHeld.TrySetResult();
            await gate.Task;
        }
        _states[(stateName, grainId)] = grainState.State!;
        (grainState.RecordExists, grainState.ETag) = (true, "1");
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _states.TryRemove((stateName, grainId), out _);
        return Task.CompletedTask;
    }
}
