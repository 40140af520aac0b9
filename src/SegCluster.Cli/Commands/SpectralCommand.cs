using System.CommandLine;
using SegCluster.Cli.Spectral;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster spectral`: label-spectrum analysis and label-grid advice (PAPERS.md §2) over a dataset;
/// writes report.json and PNG plots, prints a summary table.
/// </summary>
public static class SpectralCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "Dataset to analyse (valid: synthetic).", DefaultValueFactory = _ => "synthetic" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for report.json and the plots.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("out", "spectral")) };
        var images = new Option<int>("--images") { Description = "Images to analyse.", DefaultValueFactory = _ => 64 };
        var size = new Option<string>("--size") { Description = "Label size HxW or S (multiple of 16).", DefaultValueFactory = _ => "64x64" };
        var classes = new Option<int>("--classes") { Description = "Classes of the synthetic dataset.", DefaultValueFactory = _ => 6 };
        var seed = new Option<int>("--seed") { Description = "Seed of the synthetic dataset.", DefaultValueFactory = _ => 0 };

        dataset.Validators.Add(r => { if (r.GetValueOrDefault<string>() != "synthetic") r.AddError($"--dataset '{r.GetValueOrDefault<string>()}' is unknown; valid: synthetic."); });
        images.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--images must be at least 1."); });
        size.Validators.Add(r => { if (!ImageSize.TryParse(r.GetValueOrDefault<string>(), out _, out _, out var error)) r.AddError(error.Replace("--image-size", "--size")); });

        var command = new Command("spectral", "Label spectrum and label-grid advice (energy, oracle mIoU, CE gap per down-sampling factor).")
        {
            dataset, output, images, size, classes, seed,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            ImageSize.TryParse(parse.GetValue(size), out var height, out var width, out _);
            var options = new SpectralRunOptions(parse.GetValue(output)!, parse.GetValue(images), height, width, parse.GetValue(classes), parse.GetValue(seed));
            return Task.FromResult(SpectralRunner.Run(options, cancellationToken));
        });
        return command;
    }
}
