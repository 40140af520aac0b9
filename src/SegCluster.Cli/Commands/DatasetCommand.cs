using System.CommandLine;
using SegCluster.Abstractions.Specs;
using SegCluster.Cli.Datasets;
using SegCluster.Vision.Data.Files;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster dataset inspect PATH`: detects the on-disk format (Cityscapes, VOC, ADE20K, folder), prints it with
/// the label mapping, the samples per split, image sizes, the class histogram by class name and unusable files.
/// </summary>
public static class DatasetCommand
{
    public static Command Create()
    {
        var path = new Argument<DirectoryInfo>("PATH") { Description = "Root folder of the dataset." };
        var format = new Option<string>("--format") { Description = $"Format: {DatasetFormats.Auto} (detect), {string.Join(", ", DatasetFormats.Names)}.", DefaultValueFactory = _ => DatasetFormats.Auto };
        var split = new Option<string?>("--split") { Description = "Inspect only this split (default: every split)." };
        var limit = new Option<int?>("--limit") { Description = "Inspect at most N samples per split (default: all)." };
        var maxInvalid = new Option<double>("--max-invalid-fraction")
        {
            Description = "Exit 1 when a split has more unusable samples than this share, as training stops (dataset.max_invalid_fraction).",
            DefaultValueFactory = _ => new DatasetSpec().MaxInvalidFraction,
        };
        maxInvalid.Check(v => v is < 0 or > 1 ? "--max-invalid-fraction must be in [0, 1]." : null);

        format.Check(name => name != DatasetFormats.Auto && !DatasetFormats.Names.Contains(name)
            ? $"--format '{name}' is unknown; valid: {DatasetFormats.Auto}, {string.Join(", ", DatasetFormats.Names)}." : null);
        limit.Check(v => v is < 1 ? "--limit must be at least 1." : null);

        var inspect = new Command("inspect", "Detect a dataset's format and print its splits, image sizes and class histogram.")
        {
            path, format, split, limit, maxInvalid,
        };
        inspect.SetAction((parse, cancellationToken) => Task.FromResult(
            DatasetInspector.Run(parse.GetValue(path)!.FullName, parse.GetValue(format)!, parse.GetValue(split), parse.GetValue(limit), parse.GetValue(maxInvalid), cancellationToken)));
        return new Command("dataset", "Inspect datasets on disk.") { inspect };
    }
}
