using SegCluster.Abstractions;
using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Evaluation;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Inference;
using Spectre.Console;
using static TorchSharp.torch;

namespace SegCluster.Cli.Prediction;

/// <summary>
/// `segcluster predict`'s work, in this process: each image through the checkpoint's network at full resolution
/// (whole / slide, flip, scales), argmax, written as "STEM.png" (train ids or Cityscapes label ids), and optionally
/// "STEM_colour.png" and "STEM_overlay.png" into the output folder.
/// </summary>
public sealed class PredictionRunner(CheckpointModel checkpoint, InferenceSettings inference, string format, bool colour, bool overlay)
{
    private readonly SegmentationPredictor _predictor = InferenceMapping.Predictor(checkpoint, inference);
    private readonly ClassPalette _palette = ClassPalette.For(checkpoint.ClassNames);

    /// <summary>Images named on the command line: files as given, folders by their image files (not recursive).</summary>
    /// <exception cref="FileNotFoundException">An input is neither a file nor a folder (named).</exception>
    /// <exception cref="ArgumentException">Two images share a file stem: their outputs would overwrite each other (both named).</exception>
    public static IReadOnlyList<string> Expand(IEnumerable<string> inputs)
    {
        var images = inputs.SelectMany(input =>
            File.Exists(input) ? [Path.GetFullPath(input)]
            : Directory.Exists(input) ? DatasetDirectory.Images(input).Select(Path.GetFullPath)
            : throw new FileNotFoundException($"input '{input}' is neither an image file nor a folder.", input)).Distinct().ToList();
        var clash = images.GroupBy(Path.GetFileNameWithoutExtension).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new ArgumentException($"{string.Join(" and ", clash.Take(2))} would both be written as {clash.Key}.png; predict them into separate --out folders.");
        return images;
    }

    /// <summary>Refuses a format the checkpoint cannot be written in (Cityscapes label ids need its 19 classes).</summary>
    public void CheckFormat()
    {
        if (format == PredictionFormat.CityscapesLabelId && !checkpoint.ClassNames.SequenceEqual(CityscapesReader.ClassNames))
            throw new ArgumentException($"--format {PredictionFormat.CityscapesLabelId} needs a checkpoint trained on the 19 Cityscapes classes; " +
                                        $"'{checkpoint.Path}' has {checkpoint.Model.NumClasses} classes ({string.Join(", ", checkpoint.ClassNames.Take(5))}…). Use --format {PredictionFormat.TrainId}.");
    }

    /// <summary>Predicts one image and writes its files; returns the train-id label map (H×W).</summary>
    /// <exception cref="DatasetFileException">The image cannot be read or decoded (named).</exception>
    /// <exception cref="ArgumentException">The crop does not fit this image (named field and image).</exception>
    public byte[] Predict(string imagePath, string outputDirectory)
    {
        var (rgb, height, width) = ImageDecoder.DecodeRgb(imagePath);
        try { _predictor.CheckFits(height, width); }
        catch (ArgumentException e) { throw new ArgumentException($"{e.UserMessage()} (image {imagePath})", e); }
        var sample = ImageNormalization.ToSample(new DecodedSample(rgb, new byte[height * width], height, width));
        byte[] labels;
        using (no_grad())
        using (NewDisposeScope())
        {
            using var batch = SegmentationBatch.Collate([sample], checkpoint.Model.parameters().First().device);
            labels = _predictor.Probabilities(batch.Images).argmax(1).to(ScalarType.Byte).cpu().data<byte>().ToArray();  // (1, H, W) → H·W
        }
        var stem = Path.Combine(outputDirectory, Path.GetFileNameWithoutExtension(imagePath));
        var written = format == PredictionFormat.CityscapesLabelId ? CityscapesReader.ToLabelIds(labels) : labels;
        PredictionImages.WriteLabels(stem + ".png", written, height, width);
        if (colour) PredictionImages.WriteColours(stem + "_colour.png", labels, height, width, _palette);
        if (overlay) PredictionImages.WriteOverlay(stem + "_overlay.png", rgb, labels, height, width, _palette);
        return labels;
    }

    /// <summary>Predicts every image with a progress bar; stops at the first image that fails.</summary>
    public void Run(IAnsiConsole console, IReadOnlyList<string> images, string outputDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(outputDirectory);
        console.Progress().AutoClear(false).Start(context =>
        {
            var bar = context.AddTask($"predicting {images.Count} images", maxValue: images.Count);
            foreach (var image in images)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Predict(image, outputDirectory);
                bar.Increment(1);
            }
        });
    }
}
