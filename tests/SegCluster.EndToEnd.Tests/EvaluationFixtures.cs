using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Training;
using SkiaSharp;
using static TorchSharp.torch;

namespace SegCluster.EndToEnd.Tests;

/// <summary>A tiny folder dataset (real PNGs) and checkpoints written as training writes them, in a temporary folder.</summary>
internal sealed class EvaluationFixtures : IDisposable
{
    public const int Height = 24, Width = 32, ValImages = 5;
    public static readonly string[] Classes = ["background", "cat", "dog"];

    public EvaluationFixtures()
    {
        Root = Directory.CreateTempSubdirectory("segcluster-eval-").FullName;
        DatasetPath = Path.Combine(Root, "data");
        Directory.CreateDirectory(DatasetPath);
        File.WriteAllText(Path.Combine(DatasetPath, "classes.json"), """["background", "cat", "dog"]""");
        for (var i = 0; i < ValImages; i++)
        {
            var seed = i;
            Png(Path.Combine(DatasetPath, "images", "val", $"img{i}.png"), (x, y) => new SKColor((byte)(x * 8 + seed * 20), (byte)(y * 10), (byte)(128 + seed * 25)));
            Png(Path.Combine(DatasetPath, "masks", "val", $"img{i}.png"), (x, y) => Grey(x < Width / 3 ? 0 : x < 2 * Width / 3 ? 1 : y < 2 ? 255 : 2));
        }
    }

    public string Root { get; }
    public string DatasetPath { get; }

    /// <summary>Writes a checkpoint of an untrained (seeded) network as training does: weights, spec and class names.</summary>
    /// <param name="onFiles">The spec names this fixture's folder dataset (kind files) instead of the synthetic one.</param>
    /// <param name="unknownField">A top-level spec field this build does not know, recorded as a later SegCluster version would.</param>
    public string Checkpoint(string name, int numClasses = 3, string model = "encoder-decoder", int seed = 5, bool onFiles = false, string? unknownField = null)
    {
        var spec = new ExperimentSpec
        {
            Name = name,
            Workers = 1,
            Dataset = onFiles
                ? new DatasetSpec { Kind = DatasetSpec.Files, Path = DatasetPath, NumClasses = numClasses, Height = Height, Width = Width }
                : new DatasetSpec { NumClasses = numClasses, Height = Height, Width = Width },
            Model = new ModelSpec { Name = model, Width = 8, Norm = "bn" },
        };
        // Under the process-wide seeded-build lock: the randn below draws from torch's global generator too.
        return SpecMapping.Seeded(seed, () =>
        {
            using var network = SpecMapping.BuildModel(spec);
            using var trainer = new DataParallelTrainer(network, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(LearningRate: 0.01), new SingleRankReducer());
            // Non-trivial BatchNorm running statistics, so eval mode differs from a fresh network.
            using (no_grad())
                foreach (var (bufferName, buffer) in network.named_buffers())
                    if (bufferName.EndsWith("running_mean", StringComparison.Ordinal)) buffer.copy_(randn(buffer.shape).mul(0.1));
            var path = Path.Combine(Root, name + ".ckpt");
            var recorded = SpecFiles.ToTree(spec);
            if (unknownField is not null) recorded[unknownField] = 1;
            CheckpointStore.Save(path, trainer, recorded.ToJsonString(), Classes.Take(numClasses).Concat(Enumerable.Range(3, Math.Max(0, numClasses - 3)).Select(c => $"c{c}")).ToList());
            return path;
        });
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);

    public static void Png(string path, Func<int, int, SKColor> pixel)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(Width, Height);
        for (var y = 0; y < Height; y++)
            for (var x = 0; x < Width; x++) bitmap.SetPixel(x, y, pixel(x, y));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    private static SKColor Grey(int v) => new((byte)v, (byte)v, (byte)v);
}
