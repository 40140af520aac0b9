namespace SegCluster.EndToEnd.Tests;

/// <summary>`segcluster eval` and `predict` as a user runs them: the bad inputs of issue 12 exit non-zero with the file or
/// option named before any cluster starts; a good predict writes its PNGs.</summary>
public sealed class EvalPredictCommandTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);
    private readonly EvaluationFixtures _fixtures = new();

    public void Dispose() => _fixtures.Dispose();

    [Fact]
    public async Task Eval_refuses_a_checkpoint_of_another_class_count()
    {
        var checkpoint = _fixtures.Checkpoint("five", numClasses: 5);
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, ["eval", "--checkpoint", checkpoint, "--dataset", _fixtures.DatasetPath]);
        Assert.Equal(2, exit);
        Assert.Contains($"checkpoint '{checkpoint}' predicts 5 classes", stderr);
        Assert.DoesNotContain("evaluating", stdout);
    }

    [Fact]
    public async Task Eval_refuses_the_synthetic_dataset_for_a_checkpoint_trained_on_files()
    {
        var checkpoint = _fixtures.Checkpoint("files", onFiles: true);
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, ["eval", "--checkpoint", checkpoint, "--dataset", "synthetic"]);
        Assert.Equal(2, exit);
        Assert.Contains($"was trained on the dataset at '{_fixtures.DatasetPath}'", stderr);
        Assert.Contains($"--dataset {_fixtures.DatasetPath}", stderr);
        Assert.DoesNotContain("evaluating", stdout);
    }

    [Fact]
    public async Task Eval_refuses_a_file_that_is_no_checkpoint_and_a_bad_crop()
    {
        var notCheckpoint = Path.Combine(_fixtures.DatasetPath, "classes.json");
        var (exit, _, stderr) = await CliProcess.RunAsync(Limit, ["eval", "--checkpoint", notCheckpoint, "--dataset", _fixtures.DatasetPath]);
        Assert.Equal(2, exit);
        Assert.Contains($"'{notCheckpoint}' is not a SegCluster checkpoint", stderr);

        (exit, _, stderr) = await CliProcess.RunAsync(Limit, ["eval", "--checkpoint", _fixtures.Checkpoint("crop"), "--dataset", _fixtures.DatasetPath, "--mode", "slide", "--crop", "12x"]);
        Assert.Equal(2, exit);
        Assert.Contains("--crop '12x' is not a size", stderr);
    }

    /// <summary>A stride of 0 (which stands for "the crop" on the wire) was taken silently; a crop the network's stride does
    /// not divide was named with SegmentationPredictor's "(Parameter 'options')".</summary>
    [Theory]
    [InlineData("--crop 16x16 --stride 0x0", "--stride '0x0': each side must be at least 1 and at most 8192.")]
    [InlineData("--crop 0x16", "--crop '0x16': each side must be at least 1")]
    [InlineData("--crop 20x20", "crop: 20x20 must be a multiple of the network's output stride 16.")]
    public async Task Eval_names_a_bad_window_without_parameter_names(string window, string expected)
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit,
            ["eval", "--checkpoint", _fixtures.Checkpoint("window"), "--dataset", _fixtures.DatasetPath, "--workers", "1", "--mode", "slide", .. window.Split(' ')]);
        Assert.Equal(2, exit);
        Assert.Contains($"error: {expected}", stderr);
        Assert.DoesNotContain("(Parameter", stderr);
        Assert.DoesNotContain("evaluating", stdout);
    }

    /// <summary>A checkpoint whose recorded spec has a field this build does not know (a later version wrote it) is named
    /// in one line; it was a SpecFileException's stack trace.</summary>
    [Theory]
    [InlineData("eval")]
    [InlineData("predict")]
    public async Task A_checkpoint_of_an_incompatible_version_is_named_without_a_stack_trace(string command)
    {
        var checkpoint = _fixtures.Checkpoint($"future-{command}", unknownField: "future_setting");
        string[] args = command == "eval"
            ? ["eval", "--checkpoint", checkpoint, "--dataset", _fixtures.DatasetPath]
            : ["predict", "--checkpoint", checkpoint, Path.Combine(_fixtures.DatasetPath, "images", "val"), "--out", Path.Combine(_fixtures.Root, "future")];
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, args);
        Assert.Equal(2, exit);
        Assert.Contains($"checkpoint '{checkpoint}' was written by an incompatible SegCluster version", stderr);
        Assert.Contains("future_setting", stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    /// <summary>An --out that cannot be written (under a file, which stops root too; an existing folder for eval's report
    /// file) is named before anything is evaluated or predicted: it was an unhandled exception after the work.</summary>
    [Theory]
    [InlineData("eval", "under-a-file", "cannot be written")]
    [InlineData("eval", "a-folder", "is a folder; give a file")]
    [InlineData("predict", "under-a-file", "cannot be written")]
    public async Task An_out_that_cannot_be_written_is_named_before_the_work(string command, string where, string expected)
    {
        var file = Path.Combine(_fixtures.Root, "a-file");
        await File.WriteAllTextAsync(file, "");
        var output = where == "a-folder" ? _fixtures.DatasetPath : Path.Combine(file, "r.json");
        var checkpoint = _fixtures.Checkpoint($"out-{command}-{where}");
        string[] args = command == "eval"
            ? ["eval", "--checkpoint", checkpoint, "--dataset", _fixtures.DatasetPath, "--workers", "1", "--out", output]
            : ["predict", "--checkpoint", checkpoint, Path.Combine(_fixtures.DatasetPath, "images", "val"), "--out", output];
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, args);
        Assert.Equal(2, exit);
        Assert.Contains($"error: --out '{output}' {expected}", stderr);
        Assert.DoesNotContain("evaluating", stdout);
        Assert.DoesNotContain("predictions written", stdout);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    [Fact]
    public async Task Predict_writes_pngs_and_names_an_undecodable_image()
    {
        var checkpoint = _fixtures.Checkpoint("predict-cli");
        var output = Path.Combine(_fixtures.Root, "predictions");
        var images = Path.Combine(_fixtures.DatasetPath, "images", "val");
        var (exit, _, stderr) = await CliProcess.RunAsync(Limit, ["predict", "--checkpoint", checkpoint, images, "--out", output, "--colour", "--overlay"]);
        Assert.True(exit == 0, stderr);
        Assert.Equal(3 * EvaluationFixtures.ValImages, Directory.GetFiles(output, "*.png").Length);

        var broken = Path.Combine(_fixtures.Root, "broken.jpg");
        File.WriteAllBytes(broken, [0xFF, 0xD8, 0xFF, 0, 1, 2]);
        (exit, _, stderr) = await CliProcess.RunAsync(Limit, ["predict", "--checkpoint", checkpoint, broken, "--out", output]);
        Assert.Equal(2, exit);
        Assert.Contains(broken, stderr);
    }
}
