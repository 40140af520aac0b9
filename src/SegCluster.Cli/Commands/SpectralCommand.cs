using System.CommandLine;
using SegCluster.Abstractions.Specs;
using SegCluster.Cli.Output;
using SegCluster.Cli.Remote;
using SegCluster.Cli.Spectral;
using SegCluster.Vision.Data;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster spectral`: label-spectrum analysis and label-grid advice (PAPERS.md §2) over a dataset, computed shard by
/// shard on a cluster (embedded by default) and merged; writes report.json, statistics.json and PNG plots, prints a table.
/// </summary>
public static class SpectralCommand
{
    /// <summary>The synthetic dataset a spec with nothing set trains on: the options' defaults.</summary>
    private static readonly DatasetSpec Defaults = new();

    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "Dataset to analyse: synthetic, or the folder of a dataset on disk (Cityscapes, VOC, ADE20K, folder layout; its train split).", DefaultValueFactory = _ => "synthetic" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for report.json, statistics.json and the plots.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("out", "spectral")) };
        var images = new Option<int>("--images") { Description = "Training labels to analyse (the first N).", DefaultValueFactory = _ => 64 };
        // --image-size as well: quickstart's name for the same dataset height x width.
        var size = new Option<string>("--size", "--image-size") { Description = "Label size HxW or S (multiple of 16); files are resized to it.", DefaultValueFactory = _ => $"{Defaults.Height}x{Defaults.Width}" };
        var classes = new Option<int>("--classes") { Description = "Classes of the synthetic dataset.", DefaultValueFactory = _ => Defaults.NumClasses };
        var seed = new Option<int>("--seed") { Description = "Seed of the synthetic dataset.", DefaultValueFactory = _ => 0 };
        var shards = new Option<int>("--shards") { Description = "Shards the labels are split into; each is analysed by a shard grain on a node of the cluster.", DefaultValueFactory = _ => 2 };
        var targets = new AdvisorTargetOptions();
        var remote = new RemoteClusterOptions();

        dataset.Check(value => value != DatasetSpec.Synthetic && !Directory.Exists(value)
            ? $"--dataset '{value}' is unknown; valid: synthetic, or the folder of a dataset on disk (no folder '{value}' exists)." : null);
        images.Check(v => v < 1 ? "--images must be at least 1." : null);
        shards.Check(v => v < 1 ? "--shards must be at least 1." : null);
        // As the synthetic scenes and the file loader need (SyntheticSceneOptions), in the options' words.
        size.Check(value => ImageSize.TryParseBounded(value, out _, out _, out var error, "--size", SyntheticSceneOptions.OutputStride) ? null : error);
        classes.Check(k => k is < 2 or > SyntheticSceneOptions.MaxClasses
            ? $"--classes {k} is out of range; the synthetic dataset has 2 to {SyntheticSceneOptions.MaxClasses} classes (class 0 is the background)." : null);

        var command = new Command("spectral", "Label spectrum and label-grid advice (energy, oracle mIoU, CE gap per down-sampling factor), computed shard by shard on a cluster.")
        {
            dataset, output, images, size, classes, seed, shards,
        };
        targets.AddTo(command);
        remote.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            ImageSize.TryParse(parse.GetValue(size), out var height, out var width, out _);
            var name = parse.GetValue(dataset)!;
            var data = name == DatasetSpec.Synthetic
                ? new DatasetSpec { NumClasses = parse.GetValue(classes), Height = height, Width = width, TrainCount = parse.GetValue(images) }
                : new DatasetSpec { Kind = DatasetSpec.Files, Path = Path.GetFullPath(name), Height = height, Width = width };
            if (!OutputFolder.IsWritable(parse.GetValue(output)!)) return Task.FromResult(2);  // before the cluster starts
            var options = new SpectralRunOptions(parse.GetValue(output)!, new ExperimentSpec { Dataset = data, Seed = parse.GetValue(seed) },
                parse.GetValue(images), parse.GetValue(shards), Advisor: targets.Read(parse));
            return SpectralClusterTarget.RunAsync(parse, remote, embeddedWorkers: 1, "cpu",
                (grains, where) => SpectralRunner.RunAsync(options, grains, where, cancellationToken), cancellationToken);
        });
        return command;
    }
}
