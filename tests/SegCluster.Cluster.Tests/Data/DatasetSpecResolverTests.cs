using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Data;
using SegCluster.Vision.Data.Files;

namespace SegCluster.Cluster.Tests.Data;

/// <summary>A spec naming a dataset on disk is validated and completed from the files.</summary>
public sealed class DatasetSpecResolverTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("segcluster-spec-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Class_and_sample_counts_come_from_the_dataset()
    {
        TinyFolderDataset.Write(_root, train: 5, val: 3);
        var spec = new ExperimentSpec { Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = _root, Height = 16, Width = 16 }, Training = new TrainingSpec { BatchPerWorker = 2 } };
        var (resolved, errors) = DatasetSpecResolver.ValidateAndResolve(spec);
        Assert.Empty(errors);
        Assert.Equal((3, 5, 3), (resolved.Dataset.NumClasses, resolved.Dataset.TrainCount, resolved.Dataset.ValidationCount));
        Assert.Equal(1, resolved.StepsPerEpoch);  // 5 samples / (2 workers × 2)
    }

    [Fact]
    public void A_missing_folder_a_wrong_format_and_a_missing_split_name_the_field()
    {
        TinyFolderDataset.Write(_root, train: 5, val: 3);
        DatasetSpec Files(string? path, string format = "auto", string validation = "val") =>
            new() { Kind = DatasetSpec.Files, Path = path, Format = format, ValidationSplit = validation, Height = 16, Width = 16 };
        string Error(DatasetSpec d) => Assert.Single(DatasetSpecResolver.ValidateAndResolve(new ExperimentSpec { Dataset = d }).Errors);

        Assert.StartsWith("dataset.path: '/no/such/dir' is not an existing folder", Error(Files("/no/such/dir")));
        Assert.StartsWith("dataset.format: 'coco' is unknown", Error(Files(_root, "coco")));
        Assert.Contains("is not a cityscapes dataset", Error(Files(_root, "cityscapes")));
        Assert.Contains("split 'test' is not in the folder dataset", Error(Files(_root, validation: "test")));
        Assert.StartsWith("dataset.kind: 'coco' is not supported; use one of synthetic, files", Assert.Single(new ExperimentSpec { Dataset = new DatasetSpec { Kind = "coco" } }.Validate()));
    }

    [Fact]
    public void Drawing_scribbles_from_the_ScribbleSup_split_is_refused_with_the_setting_that_trains_on_them()
    {
        var voc = new DatasetSpec { Kind = DatasetSpec.Files, Path = _root, TrainSplit = VocReader.ScribbleSplit, Height = 16, Width = 16 };
        string Error(ExperimentSpec spec) => Assert.Single(DatasetSpecResolver.ValidateAndResolve(spec).Errors);

        var regularized = new ExperimentSpec { Dataset = voc, Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind } };
        Assert.Equal("dataset.train_split: 'train_scribble' holds ScribbleSup scribbles already, and drawing scribbles from them would erase them; " +
            "set loss.scribble.synthesize_scribbles to false to train on them as they are.", Error(regularized));
        Assert.EndsWith("set labels.mode to 'full' (the unscribbled pixels are ignore, so the CE is partial).",
            Error(new ExperimentSpec { Dataset = voc, Labels = new LabelsSpec { Mode = LabelsSpec.Scribble } }));
        // With synthesis off the split's own strokes are the labels: the resolver goes on to read the files (none here).
        var own = regularized with { Loss = regularized.Loss with { Scribble = new ScribbleLossSpec { SynthesizeScribbles = false } } };
        Assert.DoesNotContain("ScribbleSup", Error(own));
    }

    [Fact]
    public void The_spec_lists_the_formats_the_readers_know()
    {
        Assert.Equal([DatasetFormats.Auto, .. DatasetFormats.Names], DatasetSpec.Formats);
    }
}
