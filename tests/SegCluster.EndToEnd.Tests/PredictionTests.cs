using SegCluster.Abstractions.Messages;
using SegCluster.Cli.Evaluation;
using SegCluster.Cli.Prediction;
using SegCluster.Cluster.Evaluation;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Inference;
using static TorchSharp.torch;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`segcluster predict`'s files, and the bad inputs eval and predict must refuse with the file or option named.</summary>
public sealed class PredictionTests : IDisposable
{
    private readonly EvaluationFixtures _fixtures = new();

    public void Dispose() => _fixtures.Dispose();

    [Fact]
    public void Label_png_reads_back_as_the_argmax_and_colour_png_as_the_palette()
    {
        using var checkpoint = CheckpointModel.Load(_fixtures.Checkpoint("predict"));
        var image = Path.Combine(_fixtures.DatasetPath, "images", "val", "img1.png");
        var output = Path.Combine(_fixtures.Root, "out");
        var runner = new PredictionRunner(checkpoint, InferenceSettings.Whole, PredictionFormat.TrainId, colour: true, overlay: true);
        runner.Run(Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(new StringWriter()) }),
            [image], output, CancellationToken.None);

        // The argmax straight from the network (whole image; 24x32 pads to the stride and is cut back).
        var (rgb, h, w) = ImageDecoder.DecodeRgb(image);
        var sample = ImageNormalization.ToSample(new DecodedSample(rgb, new byte[h * w], h, w));
        byte[] expected;
        using (no_grad())
        {
            using var batch = SegmentationBatch.Collate([sample], CPU);
            var padded = nn.functional.pad(batch.Images, [0, 0, 0, 32 - h]);
            expected = checkpoint.Model.forward(padded).Logits.narrow(2, 0, h).argmax(1).to(ScalarType.Byte).data<byte>().ToArray();
        }
        var (written, wh, ww) = ImageDecoder.DecodeMask(Path.Combine(output, "img1.png"), MaskEncoding.Gray);
        Assert.Equal((h, w), (wh, ww));
        Assert.Equal(expected, written);

        var palette = ClassPalette.For(checkpoint.ClassNames);
        var (colours, _, _) = ImageDecoder.DecodeRgb(Path.Combine(output, "img1_colour.png"));
        for (var p = 0; p < written.Length; p++)
            Assert.Equal(palette.Colour(written[p]), (colours[3 * p], colours[3 * p + 1], colours[3 * p + 2]));
        Assert.True(File.Exists(Path.Combine(output, "img1_overlay.png")));
    }

    [Fact]
    public void An_undecodable_image_is_named()
    {
        using var checkpoint = CheckpointModel.Load(_fixtures.Checkpoint("broken-image"));
        var broken = Path.Combine(_fixtures.Root, "broken.png");
        File.WriteAllBytes(broken, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        var runner = new PredictionRunner(checkpoint, InferenceSettings.Whole, PredictionFormat.TrainId, colour: false, overlay: false);
        var error = Assert.Throws<DatasetFileException>(() => runner.Predict(broken, _fixtures.Root));
        Assert.Contains(broken, error.Message);
    }

    [Fact]
    public void A_checkpoint_with_another_class_count_is_refused_naming_the_file()
    {
        var checkpoint = _fixtures.Checkpoint("four-classes", numClasses: 4);
        var job = new EvaluationJob(checkpoint, _fixtures.DatasetPath, "auto", "val", InferenceSettings.Whole);
        var error = Assert.Throws<ArgumentException>(() => job.Prepare());
        Assert.Contains(checkpoint, error.Message);
        Assert.Contains("4 classes", error.Message);
    }

    [Fact]
    public void A_crop_larger_than_the_padded_image_is_refused_naming_the_field_and_image()
    {
        var job = new EvaluationJob(_fixtures.Checkpoint("big-crop"), _fixtures.DatasetPath, "auto", "val",
            new InferenceSettings(InferenceSettings.SlideMode, 48, 32, 16, 16, Flip: false, Scales: []));
        var error = Assert.Throws<ArgumentException>(() => job.Prepare());
        Assert.StartsWith("crop: 48x32 is larger than the image 24x32", error.Message);
        Assert.Contains("img0.png", error.Message);
    }

    /// <summary>img1 is 24x32: a 16x32 crop fits it, not its 12x16 half; refused with the image and scale named before any file is written.</summary>
    [Fact]
    public void Predict_refuses_a_crop_that_does_not_fit_a_smaller_scale_before_predicting()
    {
        using var checkpoint = CheckpointModel.Load(_fixtures.Checkpoint("small-scale"));
        var image = Path.Combine(_fixtures.DatasetPath, "images", "val", "img1.png");
        var output = Directory.CreateDirectory(Path.Combine(_fixtures.Root, "scales")).FullName;
        var runner = new PredictionRunner(checkpoint, new InferenceSettings(InferenceSettings.SlideMode, 16, 32, 16, 16, Flip: false, Scales: [1.0, 0.5]),
            PredictionFormat.TrainId, colour: false, overlay: false);
        var error = Assert.Throws<ArgumentException>(() => runner.Predict(image, output));
        Assert.Contains("at scale 0.5", error.Message, StringComparison.Ordinal);
        Assert.Contains(image, error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(output));
    }

    [Fact]
    public void Cityscapes_label_ids_need_a_cityscapes_checkpoint()
    {
        using var checkpoint = CheckpointModel.Load(_fixtures.Checkpoint("not-cityscapes"));
        var runner = new PredictionRunner(checkpoint, InferenceSettings.Whole, PredictionFormat.CityscapesLabelId, colour: false, overlay: false);
        var error = Assert.Throws<ArgumentException>(runner.CheckFormat);
        Assert.Contains("--format cityscapes-labelid", error.Message);
    }
}
