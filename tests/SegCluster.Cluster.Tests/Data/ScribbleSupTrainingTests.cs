using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Data;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Training;
using SkiaSharp;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Data;

/// <summary>
/// PAPERS.md §5 on ScribbleSup's own annotation: a VOC folder whose train_scribble split is ScribbleSup XML trains the
/// scribble-regularised loss on exactly those strokes (synthesis off), and validates on the full masks.
/// </summary>
public sealed class ScribbleSupTrainingTests : IDisposable
{
    private const int Side = 32;
    private readonly string _root = Directory.CreateTempSubdirectory("segcluster-scribblesup-").FullName;
    private readonly NodeDataSources _node = new();

    public void Dispose()
    {
        _node.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void The_scribble_split_trains_on_the_annotated_strokes()
    {
        WriteVoc(["s0", "s1"], validation: "v0");
        var spec = new ExperimentSpec
        {
            Workers = 1,
            Model = new ModelSpec { Name = "encoder-decoder", Width = 4 },
            Dataset = new DatasetSpec
            {
                Kind = DatasetSpec.Files, Path = _root, TrainSplit = "train_scribble", Height = Side, Width = Side,
                MinScale = 1, MaxScale = 1, FlipProbability = 0, ColorJitter = 0,
            },
            Training = new TrainingSpec { Steps = 2, BatchPerWorker = 2 },
            Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind, Scribble = new ScribbleLossSpec { Dynamic = false, SynthesizeScribbles = false } },
        };
        var (resolved, errors) = DatasetSpecResolver.ValidateAndResolve(spec);
        Assert.Empty(errors);
        Assert.Equal((21, 2, 1), (resolved.Dataset.NumClasses, resolved.Dataset.TrainCount, resolved.Dataset.ValidationCount));

        var sources = _node.Create();
        using var train = sources.Acquire(resolved, training: true);
        using var validation = sources.Acquire(resolved, training: false);
        var samples = new[] { train.Source.Load(0, epoch: 0), train.Source.Load(1, epoch: 0) };
        // Each image's strokes: a dog (12) on row 4, background (0) on column 30; nothing else is labelled.
        Assert.All(samples, s => Assert.Equal(Side + Side - 1, s.Label.Count(v => v != SegmentationSample.IgnoreLabel)));
        Assert.Equal(12, samples[0].Label[4 * Side + 10]);
        Assert.Equal(0, samples[0].Label[20 * Side + 30]);
        Assert.DoesNotContain(SegmentationSample.IgnoreLabel, validation.Source.Load(0, epoch: 0).Label);  // the full mask

        using var model = SpecMapping.BuildModel(resolved);
        var criterion = SpecMapping.Criterion(resolved);
        using var batch = SegmentationBatch.Collate(samples, CPU);
        using (NewDisposeScope())
            Assert.Equal(2 * (Side + Side - 1), criterion.Terms(model.call(batch.Images), batch.Labels, batch.Images).ReadCounts()[0]);  // partial CE on the strokes
        using var trainer = new DataParallelTrainer(model, criterion, SpecMapping.Optimizer(resolved), new SingleRankReducer());
        Assert.True(double.IsFinite(trainer.Step(batch).Loss));
    }

    /// <summary>VOC2012 with PNG content in JPEGImages/ (decoded by content), a palette-coloured val mask, and ScribbleSup XML.</summary>
    private void WriteVoc(string[] scribbled, string validation)
    {
        foreach (var id in scribbled.Append(validation))
        {
            using var image = Bitmap((x, y) => new SKColor((byte)(8 * x), (byte)(8 * y), 90));
            TinyFolderDataset.Save(image, Path.Combine(_root, "JPEGImages", id + ".jpg"));
        }
        // Palette colours: background black, dog (12) = (64, 0, 128) in the VOC colour map.
        using (var mask = Bitmap((x, _) => x < Side / 2 ? new SKColor(0, 0, 0) : new SKColor(64, 0, 128)))
            TinyFolderDataset.Save(mask, Path.Combine(_root, "SegmentationClass", validation + ".png"));
        Directory.CreateDirectory(Path.Combine(_root, "ImageSets", "Segmentation"));
        File.WriteAllLines(Path.Combine(_root, "ImageSets", "Segmentation", "val.txt"), [validation]);
        foreach (var id in scribbled)
            ScribbleSupXml.Write(Path.Combine(_root, "scribble_annotation", "pascal_2012", id + ".xml"), Side, Side,
                ("dog", [(0, 4), (Side - 1, 4)]), ("grass", [(30, 0), (30, Side - 1)]));
    }

    private static SKBitmap Bitmap(Func<int, int, SKColor> colour)
    {
        var bitmap = new SKBitmap(new SKImageInfo(Side, Side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
                bitmap.SetPixel(x, y, colour(x, y));
        return bitmap;
    }
}
