using System.CommandLine;
using SegCluster.Abstractions;
using SegCluster.Cli.Evaluation;
using SegCluster.Cli.Output;
using SegCluster.Cli.Prediction;
using SegCluster.Cluster.Evaluation;
using SegCluster.Vision.Data.Files;
using Spectre.Console;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster predict --checkpoint C IMAGE|FOLDER... --out DIR`: label PNGs (train ids, or Cityscapes label ids for its
/// evaluation server), colour-palette PNGs (--colour) and overlays on the image (--overlay), at full resolution.
/// </summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var checkpoint = CheckpointOption.Create();
        var inputs = new Argument<string[]>("INPUTS") { Description = "Images (PNG/JPEG) or folders of images.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for the PNGs.", Required = true };
        var format = new Option<string>("--format")
        {
            Description = $"Label PNG values: {PredictionFormat.TrainId} (0..K-1) or {PredictionFormat.CityscapesLabelId} (Cityscapes label ids).",
            DefaultValueFactory = _ => PredictionFormat.TrainId,
        };
        format.AcceptOnlyFromAmong([.. PredictionFormat.Names]);
        var colour = new Option<bool>("--colour") { Description = "Also write STEM_colour.png (class colours)." };
        var overlay = new Option<bool>("--overlay") { Description = "Also write STEM_overlay.png (class colours over the image)." };
        var inference = new InferenceArguments();
        var command = new Command("predict", "Predict label maps for images with a checkpoint and write them as PNGs.") { checkpoint, inputs, output, format, colour, overlay };
        inference.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var settings = inference.Parse(parse, out var error);
            if (settings is null)
            {
                Console.Error.WriteLine($"error: {error}");
                return Task.FromResult(2);
            }
            // Before the model is loaded and any image predicted.
            if (!OutputFolder.IsWritable(parse.GetValue(output)!)) return Task.FromResult(2);
            try
            {
                var images = PredictionRunner.Expand(parse.GetValue(inputs)!);
                if (images.Count == 0) throw new ArgumentException("no images found in the inputs (PNG or JPEG files, or folders of them).");
                using var model = CheckpointModel.Load(parse.GetValue(checkpoint)!.FullName);
                var runner = new PredictionRunner(model, settings, parse.GetValue(format)!, parse.GetValue(colour), parse.GetValue(overlay));
                runner.CheckFormat();
                var folder = parse.GetValue(output)!.FullName;
                runner.Run(AnsiConsole.Console, images, folder, cancellationToken);
                AnsiConsole.MarkupLineInterpolated($"{images.Count} predictions written to [bold]{folder}[/]");
                return Task.FromResult(0);
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or DatasetFileException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.UserMessage()}");
                return Task.FromResult(2);
            }
        });
        return command;
    }
}
