using System.Text.Json;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`segcluster eval --dataset synthetic`: a quickstart checkpoint is evaluated with no data folder, on the held-out
/// split the quickstart's own final evaluation used; a split the synthetic dataset lacks is refused with the valid ones.</summary>
public sealed class SyntheticEvaluationTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task A_quickstart_checkpoint_evaluates_on_the_synthetic_validation_split()
    {
        using var root = new TempDirectory("segcluster-synthetic-eval-");
        var checkpoints = Path.Combine(root.FullName, "checkpoints");
        var environment = new Dictionary<string, string?> { ["SEGCLUSTER_Node__CheckpointDirectory"] = checkpoints };
        using (var quickstart = CliProcess.StartAt(CliProcess.DefaultDll, environment, "quickstart", "--steps", "4", "--checkpoint-every", "4",
                   "--image-size", "32x32", "--batch-size", "2", "--metrics-port", "0", "--out", root.FullName))
        {
            var (exit, stdout, stderr) = await quickstart.WaitAsync(Limit);
            Assert.True(exit == 0, stdout + stderr);
            Assert.Contains("--dataset synthetic", stdout);
        }
        var checkpoint = Assert.Single(Directory.GetFiles(checkpoints, "step-*.ckpt", SearchOption.AllDirectories));
        var reportPath = Path.Combine(root.FullName, "eval.json");
        var (code, output, errors) = await CliProcess.RunAsync(Limit, "eval", "--checkpoint", checkpoint, "--dataset", "synthetic", "--workers", "2", "--out", reportPath);
        Assert.True(code == 0, output + errors);

        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        using var quickstartResult = JsonDocument.Parse(File.ReadAllText(Path.Combine(root.FullName, "result.json")));
        var confusion = report.RootElement.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Sum(c => c.GetInt64())).Sum();
        // The quickstart's held-out split, rebuilt here from its spec: every labelled pixel counted once over both workers.
        var validation = new SyntheticSceneDataset(SpecMapping.ValidationData(new ExperimentSpec { Dataset = new ExperimentSpec().Dataset with { Height = 32, Width = 32 } }));
        Assert.Equal(validation.Count, report.RootElement.GetProperty("images").GetInt32());
        Assert.Equal(Enumerable.Range(0, validation.Count).Sum(i => (long)validation.Get(i).Label.Count(l => l != SegmentationSample.IgnoreLabel)), confusion);
        // Same weights, same held-out images as the quickstart's final evaluation. Whole-image single-sample inference
        // vs batched evaluation can round differently and flip near-tied pixels of a 4-step network: a point of slack.
        Assert.Equal(quickstartResult.RootElement.GetProperty("miou").GetDouble(), report.RootElement.GetProperty("miou").GetDouble(), 0.01);

        (code, _, errors) = await CliProcess.RunAsync(Limit, "eval", "--checkpoint", checkpoint, "--dataset", "synthetic", "--split", "test");
        Assert.Equal(2, code);
        Assert.Contains("--split 'test' does not exist in the synthetic dataset; valid: val, train", errors);
    }
}
