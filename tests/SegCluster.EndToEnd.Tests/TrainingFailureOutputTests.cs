using System.Text.RegularExpressions;
using SkiaSharp;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// A run that fails for a reason its message fully states (an unusable dataset, a setting the model cannot train with)
/// prints that message, not a stack: the worker logs the message alone, and the command's error line names the fix. The
/// embedded node used to log the exception with a dozen or more stack frames first (21 and 13 here), once per trial in a sweep.
/// </summary>
public sealed class TrainingFailureOutputTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);
    private static readonly Regex StackFrame = new(@"^\s+at \S", RegexOptions.Multiline);
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("segcluster-failure-output-");

    [Fact]
    public async Task An_unusable_dataset_fails_train_with_its_message_and_no_stack()
    {
        var data = Path.Combine(_work.FullName, "data");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(data, "classes.json"), """["background", "cat", "dog"]""");
        for (var i = 0; i < 6; i++)
        {
            var bad = i == 0;  // a mask value 9, out of range for 3 classes: 1 of 6 unusable, more than the 5% allowed
            EvaluationFixtures.Png(Path.Combine(data, "images", $"img{i}.png"), (x, y) => new SKColor((byte)(x * 8), (byte)(y * 10), (byte)(40 * i)));
            EvaluationFixtures.Png(Path.Combine(data, "masks", $"img{i}.png"), (x, _) => Grey(x < 16 ? 0 : bad ? 9 : 1));
        }
        var spec = Path.Combine(_work.FullName, "spec.yaml");
        await File.WriteAllTextAsync(spec, $$"""
            name: unusable
            workers: 1
            dataset: { kind: files, path: {{data}}, validation_split: train, height: 16, width: 16 }
            model: { name: encoder-decoder, width: 4 }
            training: { steps: 20, batch_per_worker: 2 }
            """);

        var previous = Path.Combine(_work.FullName, "out", "result.json");  // an earlier run's, in the shared default folder
        Directory.CreateDirectory(Path.GetDirectoryName(previous)!);
        await File.WriteAllTextAsync(previous, """{ "experiment": "an-earlier-run" }""");

        var (exit, stdout, stderr) = await RunAsync("train", spec, "--out", Path.Combine(_work.FullName, "out"));

        var output = $"exit {exit}\n{stdout}\n{stderr}";
        Assert.True(exit == 1, output);
        Assert.Contains("are unusable, more than dataset.max_invalid_fraction", stderr);
        Assert.DoesNotMatch(StackFrame, stdout + stderr);
        Assert.DoesNotContain("TooManyInvalidSamplesException", stdout + stderr);
        // Said once, by the command: the embedded node's console does not repeat it for the experiment and the rank.
        Assert.Single(Regex.Matches(stdout + stderr, "are unusable, more than"));
        Assert.False(File.Exists(previous), "the earlier run's result.json was left beside a failed run");
    }

    /// <summary>DeepLabV3+'s image pooling is 1×1: one image per step leaves BatchNorm one value per channel. Quickstart's
    /// error names its own options, not the spec fields they set.</summary>
    [Fact]
    public async Task A_batch_the_model_cannot_train_on_fails_quickstart_naming_its_options()
    {
        var (exit, stdout, stderr) = await RunAsync("quickstart", "--model", "deeplabv3plus", "--workers", "1", "--batch-size", "1", "--steps", "1",
            "--image-size", "32", "--metrics-port", "0", "--out", Path.Combine(_work.FullName, "out"));

        var output = $"exit {exit}\n{stdout}\n{stderr}";
        Assert.True(exit == 1, output);
        var error = Assert.Single(stderr.Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains("Raise --batch-size (at least 2 per accumulation step) or set --norm to gn.", error);
        Assert.DoesNotContain("training.batch_per_worker", error);
        Assert.DoesNotMatch(StackFrame, stdout + stderr);
        Assert.DoesNotContain("Exception", stdout + stderr);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] arguments)
    {
        var environment = new Dictionary<string, string?> { ["SEGCLUSTER_Node__CheckpointDirectory"] = Path.Combine(_work.FullName, "checkpoints") };
        using var cli = CliProcess.StartAt(CliProcess.DefaultDll, environment, arguments);
        return await cli.WaitAsync(Limit);
    }

    private static SKColor Grey(int v) => new((byte)v, (byte)v, (byte)v);

    public void Dispose() => _work.Delete(recursive: true);
}
