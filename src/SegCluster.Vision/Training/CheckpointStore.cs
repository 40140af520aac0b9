using System.Runtime.InteropServices;
using System.Text.Json;
using SegCluster.Vision.IO;
using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// Checkpoints of model weights + optimiser state (with the fp16 loss scaler's and the optimiser's applied steps, in the metadata) + completed steps in one file, so a resumed run continues
/// bit-for-bit where it stopped (STYLE.md habit 6: a failure costs at most one interval), and since version 2
/// the <see cref="CheckpointMetadata"/> eval and predict rebuild the network from.
/// Written atomically and durably (<see cref="DurableFile"/>: "path.tmp", flushed, renamed over <c>path</c>, folder flushed),
/// so a crash mid-write leaves the previous checkpoint intact. Layout: "SCCK", version, [v2: metadata JSON], steps, optimiser state
/// length and floats, then the model's TorchSharp state dict (parameters and BatchNorm buffers).
/// Version 1 files (no metadata) still load into a trainer.
/// </summary>
public static class CheckpointStore
{
    private const int Magic = 0x4B434353;  // "SCCK" little-endian
    private const int Version = 2;

    /// <summary>Writes <paramref name="trainer"/>'s model and optimiser state to <paramref name="path"/> atomically.</summary>
    /// <param name="spec">The experiment spec as JSON, recorded for eval/predict; null when there is none.</param>
    /// <param name="classNames">Class names in train-id order, recorded for reports; null when unknown.</param>
    /// <param name="best">The run's best validation so far, for a run resumed from this file; null when none.</param>
    /// <remarks>The snapshot path (<see cref="CheckpointSnapshot.Take"/> then <see cref="Write"/>) on this thread: one
    /// serialisation for both, the state dict in NCHW order whatever the model's memory format.</remarks>
    public static void Save(string path, DataParallelTrainer trainer, string? spec = null, IReadOnlyList<string>? classNames = null, BestValidation? best = null)
    {
        using var snapshot = CheckpointSnapshot.Take(trainer);
        Write(path, snapshot, spec, classNames, best);
    }

    /// <summary>Writes <paramref name="snapshot"/> to <paramref name="path"/> atomically: the trainer's checkpoint at the
    /// snapshot's step. Reads only the snapshot, so it may run on any thread while the trainer goes on (one thread per
    /// snapshot at a time).</summary>
    /// <param name="snapshot">The trainer's state at a step (<see cref="CheckpointSnapshot.Take"/>); left to the caller to dispose.</param>
    public static void Write(string path, CheckpointSnapshot snapshot, string? spec = null, IReadOnlyList<string>? classNames = null, BestValidation? best = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var metadata = new CheckpointMetadata(spec, classNames ?? [], snapshot.State.ToDictionary(e => e.Key, e => e.Value.shape))
            { LossScaler = snapshot.LossScaler, OptimizerSteps = snapshot.OptimizerSteps, Best = best };
        // What Module.save writes for its state_dict(): the snapshot holds the same entries in the same order.
        WriteAtomically(path, metadata, snapshot.CompletedSteps, snapshot.OptimizerState, writer => nn.Module.save_state_dict(writer, snapshot.State));
    }

    /// <summary>The file layout (class summary), replacing <paramref name="path"/> through <see cref="DurableFile"/>.</summary>
    private static void WriteAtomically(string path, CheckpointMetadata metadata, long completedSteps, float[] optimizerState, Action<BinaryWriter> writeState) =>
        DurableFile.Replace(path, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(JsonSerializer.Serialize(metadata));
            writer.Write(completedSteps);
            writer.Write(optimizerState.Length);
            writer.Write(MemoryMarshal.AsBytes(optimizerState.AsSpan()));
            writeState(writer);
        });

    /// <summary>
    /// Loads a checkpoint into a trainer whose model has the saved architecture; returns the completed steps.
    /// All or nothing: the header and optimiser state are read and checked before the weights load, and a state dict
    /// that fails part-way is rolled back, so a refused checkpoint leaves the trainer as it was.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, one of another version, or a corrupt one (named).</exception>
    /// <exception cref="ArgumentException">The checkpoint's parameters or optimiser state do not fit the trainer (named).</exception>
    public static long Load(string path, DataParallelTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        try
        {
            return LoadInto(path, trainer);
        }
        catch (EndOfStreamException e)
        {
            throw Truncated(path, e);
        }
    }

    private static long LoadInto(string path, DataParallelTrainer trainer)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var metadata = ReadHeader(reader, path);
        if (metadata is not null) CheckFits(path, metadata, trainer.Model);
        long steps = reader.ReadInt64();
        // The trainer owns both checks (RestoreOptimizerState makes them too); asked here before any weight loads, so a
        // refused checkpoint leaves the model as it was: an SGD state must not reach an AdamW trainer's weights.
        if (DataParallelTrainer.StepCountsProblem(steps, metadata?.OptimizerSteps) is { } impossible)
            throw new InvalidDataException($"checkpoint '{path}' is corrupt: it records {impossible}.");
        var optimizerState = new float[ReadOptimizerLength(reader, path)];
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(optimizerState.AsSpan()));
        if (trainer.OptimizerStateMismatch(optimizerState.Length) is { } mismatch)
            throw new ArgumentException($"checkpoint '{path}' does not fit this trainer: {mismatch}.");
        LoadStateOrKeep(reader, trainer.Model);
        trainer.RestoreOptimizerState(optimizerState, steps, metadata?.OptimizerSteps);
        // fp16-mixed continues at the saved scale; a checkpoint without one (fp32, bf16, older files) leaves GradScaler's start
        if (metadata?.LossScaler is { } scalerState) trainer.Precision.Scaler?.Restore(scalerState);
        return steps;
    }

    /// <summary>Loads only the weights (no optimiser state) into <paramref name="model"/>, for inference.</summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, or a corrupt one (named).</exception>
    /// <exception cref="ArgumentException">The checkpoint's parameters do not fit the model (named).</exception>
    public static void LoadWeights(string path, SegmentationModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            var metadata = ReadHeader(reader, path);
            if (metadata is not null) CheckFits(path, metadata, model);
            reader.ReadInt64();
            var optimizerFloats = ReadOptimizerLength(reader, path);
            reader.BaseStream.Seek((long)optimizerFloats * sizeof(float), SeekOrigin.Current);
            LoadStateOrKeep(reader, model);
        }
        catch (EndOfStreamException e)
        {
            throw Truncated(path, e);
        }
    }

    /// <summary>A file that ends early (a copy cut short, a full disk): the end-of-stream error alone names no file.</summary>
    private static InvalidDataException Truncated(string path, EndOfStreamException e) =>
        new($"checkpoint '{path}' is corrupt: it ends before its last tensor (truncated copy or full disk?).", e);

    /// <summary>The optimiser state's float count, refused when negative or longer than the rest of the file (a corrupt
    /// length would otherwise surface as an OverflowException or an out-of-memory allocation).</summary>
    private static int ReadOptimizerLength(BinaryReader reader, string path)
    {
        int length = reader.ReadInt32();
        long remaining = reader.BaseStream.Length - reader.BaseStream.Position;
        if (length < 0 || (long)length * sizeof(float) > remaining)
            throw new InvalidDataException($"checkpoint '{path}' is corrupt: its optimiser state length {length} does not fit the {remaining} bytes left in the file.");
        return length;
    }

    /// <summary>Loads the state dict, restoring the model's previous values if reading fails part-way (a truncated file).</summary>
    private static void LoadStateOrKeep(BinaryReader reader, SegmentationModel model)
    {
        var previous = model.state_dict().Values.Select(t => t.detach().clone()).ToList();
        try
        {
            LoadState(reader, model);
        }
        catch
        {
            using var noGrad = no_grad();
            foreach (var (current, saved) in model.state_dict().Values.Zip(previous)) current.copy_(saved);
            throw;
        }
        finally
        {
            foreach (var saved in previous) saved.Dispose();
        }
    }

    /// <summary>Reads the state dict into <paramref name="model"/>, whatever its memory format.</summary>
    private static void LoadState(BinaryReader reader, SegmentationModel model)
    {
        if (HasStridedTensors(model))
        {
            using var twin = GlobalGenerator.Untouched(model.CreateUntrained);
            twin.load(reader, strict: true);
            CopyState(twin, model);  // copy_ keeps the target's channels_last strides
        }
        else
        {
            model.load(reader, strict: true);
        }
    }

    /// <summary>The checkpoint's metadata, without reading its tensors.</summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, or a version-1 file (written before metadata was kept).</exception>
    public static CheckpointMetadata ReadMetadata(string path) =>
        ReadMetadataIfAny(path)
        ?? throw new InvalidDataException($"checkpoint '{path}' is version 1 and records no model spec; only training can resume from it.");

    /// <summary>The checkpoint's metadata, or null for a version-1 file (written before metadata was kept), which training
    /// still resumes from.</summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, or a corrupt one.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static CheckpointMetadata? ReadMetadataIfAny(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist.", path);
        using var reader = new BinaryReader(File.OpenRead(path));
        return ReadHeader(reader, path);
    }

    private static CheckpointMetadata? ReadHeader(BinaryReader reader, string path)
    {
        if (reader.BaseStream.Length < 8 || reader.ReadInt32() != Magic) throw new InvalidDataException($"'{path}' is not a SegCluster checkpoint.");
        int version = reader.ReadInt32();
        if (version is < 1 or > Version) throw new InvalidDataException($"checkpoint '{path}' has version {version}; this build reads versions 1 to {Version}.");
        if (version == 1) return null;
        try
        {
            return JsonSerializer.Deserialize<CheckpointMetadata>(reader.ReadString())
                ?? throw new InvalidDataException($"checkpoint '{path}' has empty metadata.");
        }
        catch (Exception e) when (e is JsonException or EndOfStreamException)
        {
            throw new InvalidDataException($"checkpoint '{path}' is corrupt: its metadata header cannot be read ({e.Message}).", e);
        }
    }

    /// <summary>Names the first state-dict entry that is missing, extra or of another shape.</summary>
    private static void CheckFits(string path, CheckpointMetadata metadata, nn.Module model)
    {
        var expected = Shapes(model);
        foreach (var (name, shape) in metadata.StateShapes)
        {
            if (!expected.TryGetValue(name, out var modelShape))
                throw new ArgumentException($"checkpoint '{path}' does not fit the model: it has parameter '{name}', which the model lacks (another architecture).");
            if (!shape.SequenceEqual(modelShape))
                throw new ArgumentException($"checkpoint '{path}' does not fit the model: parameter '{name}' is [{string.Join(", ", shape)}] in the checkpoint " +
                                            $"but [{string.Join(", ", modelShape)}] in the model (another width or class count).");
        }
        var missing = expected.Keys.FirstOrDefault(k => !metadata.StateShapes.ContainsKey(k));
        if (missing is not null)
            throw new ArgumentException($"checkpoint '{path}' does not fit the model: the model's parameter '{missing}' is not in the checkpoint (another architecture).");
    }

    private static Dictionary<string, long[]> Shapes(nn.Module model) =>
        model.state_dict().ToDictionary(e => e.Key, e => e.Value.shape);

    /// <summary>
    /// Whether a parameter or buffer has non-default strides (channels_last): TorchSharp writes and reads tensor
    /// bytes only from contiguous tensors, so such a model goes through a contiguous twin, and the file holds the
    /// logical NCHW order whatever the memory format (checkpoints move between layouts).
    /// </summary>
    private static bool HasStridedTensors(SegmentationModel model) =>
        model.parameters().Any(p => !p.is_contiguous()) || model.buffers().Any(b => !b.is_contiguous());

    /// <summary>A contiguous model of the same architecture holding <paramref name="model"/>'s values.</summary>
    private static SegmentationModel ContiguousTwin(SegmentationModel model)
    {
        var twin = GlobalGenerator.Untouched(model.CreateUntrained);
        CopyState(model, twin);
        return twin;
    }

    /// <summary>Copies every state-dict entry by name (copy_ keeps the target's strides); the two must have the same
    /// entries, or a checkpoint would silently miss the ones only one side has.</summary>
    private static void CopyState(SegmentationModel source, SegmentationModel target)
    {
        var from = source.state_dict();
        var to = target.state_dict();
        if (from.Keys.Except(to.Keys).Concat(to.Keys.Except(from.Keys)).FirstOrDefault() is { } odd)
            throw new InvalidOperationException(
                $"{source.GetType().Name}.CreateUntrained() built a model without the entry '{odd}' (or with it extra): a wrapper must override it to wrap a twin of its inner model.");
        using var noGrad = no_grad();
        foreach (var (name, t) in to) t.copy_(from[name]);
    }
}
