using SegCluster.Vision.Training.Precision;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// Everything a checkpoint holds, copied off a trainer into host memory between two steps (the staging of
/// torch.distributed.checkpoint.async_save): the model's state dict as contiguous CPU tensors (the logical NCHW order,
/// whatever the model's memory format, as the file holds it), the optimiser state and the step counts. Taking it is one
/// memory copy of the state; <see cref="CheckpointStore.Write"/> then serialises it to a file on another thread while
/// the trainer goes on, and the file is the one <see cref="CheckpointStore.Save"/> would have written at this step.
/// Holds one host copy of the model and optimiser state (<see cref="Bytes"/>) until disposed; the tensors are its own, and
/// <see cref="Refresh"/> copies a later step into them (a run's next checkpoint allocates nothing).
/// </summary>
public sealed class CheckpointSnapshot : IDisposable
{
    private readonly Dictionary<string, Tensor> _state;

    private CheckpointSnapshot(Dictionary<string, Tensor> state) => _state = state;

    /// <summary>Copies <paramref name="trainer"/>'s state. Call on the trainer's thread, between steps (the copy reads the
    /// parameters the next step updates).</summary>
    public static CheckpointSnapshot Take(DataParallelTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var state = new Dictionary<string, Tensor>();
        try
        {
            using var noGrad = no_grad();
            foreach (var (name, tensor) in trainer.Model.state_dict())
            {
                // A fresh contiguous tensor on the host: a CPU tensor's cpu() or contiguous() may return the tensor itself, and
                // a channels_last one must be written in NCHW order. Detached from any dispose scope: it is this object's.
                state.Add(name, empty(tensor.shape, tensor.dtype, CPU).DetachFromDisposeScope());
            }
            var snapshot = new CheckpointSnapshot(state);
            snapshot.Refresh(trainer);
            return snapshot;
        }
        catch
        {
            foreach (var copy in state.Values) copy.Dispose();
            throw;
        }
    }

    /// <summary>Copies <paramref name="trainer"/>'s state at its current step into this snapshot, taken from the same trainer
    /// (or one of the same model). Call on the trainer's thread, between steps, and never while the snapshot is being written.</summary>
    /// <exception cref="InvalidOperationException">The trainer's model has other state-dict entries than the snapshot.</exception>
    public void Refresh(DataParallelTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var current = trainer.Model.state_dict();
        if (current.Count != _state.Count || current.Any(e => !_state.TryGetValue(e.Key, out var copy) || copy.dtype != e.Value.dtype || !copy.shape.SequenceEqual(e.Value.shape)))
            throw new InvalidOperationException("the trainer's state dict does not match the snapshot's: take a new snapshot for another model.");
        using (no_grad())
        {
            foreach (var (name, tensor) in current) _state[name].copy_(tensor);
        }
        OptimizerState = trainer.OptimizerStateSnapshot();
        (CompletedSteps, OptimizerSteps, LossScaler) = (trainer.CompletedSteps, trainer.OptimizerSteps, trainer.Precision.Scaler?.State);
    }

    /// <summary>The model's state dict at the snapshot's step, in its order.</summary>
    internal Dictionary<string, Tensor> State => _state;

    /// <summary>The optimiser state (<see cref="DataParallelTrainer.OptimizerStateSnapshot"/>).</summary>
    internal float[] OptimizerState { get; private set; } = [];

    public long CompletedSteps { get; private set; }

    public long OptimizerSteps { get; private set; }

    public LossScalerState? LossScaler { get; private set; }

    /// <summary>The host memory the snapshot holds: the state dict and the optimiser state.</summary>
    public long Bytes => _state.Values.Sum(t => t.NumberOfElements * t.ElementSize) + (long)OptimizerState.Length * sizeof(float);

    public void Dispose()
    {
        foreach (var tensor in _state.Values) tensor.Dispose();
        _state.Clear();
    }
}
