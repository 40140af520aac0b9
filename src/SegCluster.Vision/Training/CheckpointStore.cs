using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// Checkpoints of model weights + optimiser state (SGD momentum) + completed steps in one file, so a resumed
/// run continues bit-for-bit where it stopped (STYLE.md habit 6: a failure costs at most one interval).
/// Written atomically: to "path.tmp", flushed to disk, then renamed over <c>path</c>, so a crash mid-write
/// leaves the previous checkpoint intact. Layout: "SCCK", version, steps, momentum length and floats, then
/// the model's TorchSharp state dict (parameters and BatchNorm buffers).
/// </summary>
public static class CheckpointStore
{
    private const int Magic = 0x4B434353;  // "SCCK" little-endian
    private const int Version = 1;

    /// <summary>Writes <paramref name="trainer"/>'s model and optimiser state to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, DataParallelTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        string temp = path + ".tmp";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(Magic);
                writer.Write(Version);
                writer.Write(trainer.CompletedSteps);
                var momentum = trainer.MomentumSnapshot();
                writer.Write(momentum.Length);
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(momentum.AsSpan()));
                if (HasStridedTensors(trainer.Model))
                {
                    using var twin = ContiguousTwin(trainer.Model);
                    twin.save(writer);
                }
                else
                {
                    trainer.Model.save(writer);
                }
            }
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Loads a checkpoint into a trainer whose model has the saved architecture; returns the completed steps.</summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, or one of another version.</exception>
    public static long Load(string path, DataParallelTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        using var reader = new BinaryReader(File.OpenRead(path));
        if (reader.ReadInt32() != Magic) throw new InvalidDataException($"'{path}' is not a SegCluster checkpoint.");
        int version = reader.ReadInt32();
        if (version != Version) throw new InvalidDataException($"checkpoint '{path}' has version {version}; this build reads version {Version}.");
        long steps = reader.ReadInt64();
        var momentum = new float[reader.ReadInt32()];
        reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(momentum.AsSpan()));
        SegmentationModel model = trainer.Model;
        if (HasStridedTensors(model))
        {
            using var twin = ModelRegistry.Create(model.Options);
            twin.load(reader, strict: true);
            CopyState(twin, model);  // copy_ keeps the target's channels_last strides
        }
        else
        {
            model.load(reader, strict: true);
        }
        trainer.RestoreOptimizerState(momentum, steps);
        return steps;
    }

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
        var twin = ModelRegistry.Create(model.Options);
        CopyState(model, twin);
        return twin;
    }

    private static void CopyState(SegmentationModel source, SegmentationModel target)
    {
        using var noGrad = no_grad();
        foreach (var (s, t) in source.parameters().Zip(target.parameters())) t.copy_(s);
        foreach (var (s, t) in source.buffers().Zip(target.buffers())) t.copy_(s);
    }
}
