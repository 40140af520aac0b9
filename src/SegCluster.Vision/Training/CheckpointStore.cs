using SegCluster.Vision.Models;

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
                trainer.Model.save(writer);
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
        model.load(reader, strict: true);
        trainer.RestoreOptimizerState(momentum, steps);
        return steps;
    }
}
