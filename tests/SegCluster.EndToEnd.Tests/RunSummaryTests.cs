using SegCluster.Abstractions.Specs;
using SegCluster.Cli.Embedded;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`segcluster train` of a files spec printed "on synthetic …, 6 classes" and suggested `eval --dataset synthetic`
/// for its checkpoint, which evaluated the generator's scenes instead of the run's data.</summary>
public sealed class RunSummaryTests
{
    private static readonly ExperimentSpec OnFiles = new()
    {
        Name = "folder-tiny",
        Dataset = new DatasetSpec { Kind = DatasetSpec.Files, Path = "/data/folder", Height = 32, Width = 64 },
    };

    [Fact]
    public void A_files_run_names_its_folder_and_evaluates_on_it()
    {
        Assert.Equal("/data/folder (auto), crop 32x64", RunSummary.Dataset(OnFiles.Dataset));
        Assert.Equal("segcluster eval --checkpoint c.ckpt --dataset /data/folder", RunSummary.EvaluateCommand(OnFiles, "c.ckpt"));
    }

    [Fact]
    public void A_synthetic_run_evaluates_on_the_synthetic_dataset()
    {
        var spec = new ExperimentSpec();
        Assert.Equal("synthetic 64x64, 6 classes", RunSummary.Dataset(spec.Dataset));
        Assert.Equal("segcluster eval --checkpoint c.ckpt --dataset synthetic", RunSummary.EvaluateCommand(spec, "c.ckpt"));
    }
}
