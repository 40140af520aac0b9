using System.Text.Json;
using System.Text.RegularExpressions;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// `segcluster train SPEC` without --cluster, as docs/cluster.md walks it: --id names the run (it was ignored for a made-up
/// one), and a run resumed with --resume says where it starts and counts the steps it trained, not the spec's total.
/// </summary>
public sealed class EmbeddedTrainTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("segcluster-embedded-train-");

    [Fact]
    public async Task Train_honours_id_and_a_resumed_run_reports_the_steps_it_trained()
    {
        var spec = Path.Combine(_work.FullName, "spec.yaml");
        await File.WriteAllTextAsync(spec, RedisCluster.SpecYaml(steps: 4, checkpointEvery: 2, workers: 1));

        string[] arm = ["--set", "loss.kind=class-suppression", "--set", "model.decoder_truncation=0.5"];
        var (first, firstOut) = await TrainAsync(spec, "my-run", ["--set", "training.steps=2", .. arm]);
        var checkpoint = Path.Combine(_work.FullName, "checkpoints", "my-run", "step-000002.ckpt");
        Assert.True(File.Exists(checkpoint), $"no {checkpoint}:\n{firstOut}");
        Assert.Contains("SegCluster my-run: ", firstOut);
        Assert.Contains("2 steps;", firstOut);
        Assert.Equal("my-run", first.GetProperty("experiment_id").GetString());
        // Which arm of a comparison it was, in result.json, the banner and the spec it wrote beside it (which runs it again).
        Assert.Equal((3, "tiny", "full", 1, "class-suppression", 0.5),
            (first.GetProperty("seed").GetInt32(), first.GetProperty("backbone").GetString(), first.GetProperty("labels_mode").GetString(),
             first.GetProperty("labels_factor").GetInt32(), first.GetProperty("loss_kind").GetString(), first.GetProperty("decoder_truncation").GetDouble()));
        Assert.Contains("loss class-suppression, seed 3, decoder truncation 0.5;", firstOut);
        Assert.Equal(1, first.GetProperty("labelled_fraction").GetDouble());  // full masks: every pixel annotated
        Assert.Equal(SpecFiles.ToJson(SpecFiles.LoadExperiment(spec, ["training.steps=2", .. arm.Where(a => a != "--set")])),
            SpecFiles.ToJson(SpecFiles.LoadExperiment(Path.Combine(_work.FullName, "my-run", "spec.yaml"))));
        // The header's hint is one train accepts: it has no --wire.
        Assert.Contains("--set training.wire=fp32|fp16 uses the loopback ring", firstOut);

        var (resumed, resumedOut) = await TrainAsync(spec, "my-run-resumed", ["--resume", checkpoint, .. arm]);
        Assert.Contains("steps 3-4 of 4 (from step 2)", resumedOut);
        Assert.Contains("2 × 1 (steps 3-4, resumed)", resumedOut);
        Assert.Equal((4, 2, 2), (resumed.GetProperty("steps").GetInt32(), resumed.GetProperty("start_step").GetInt32(), resumed.GetProperty("trained_steps").GetInt32()));
        Assert.True(File.Exists(Path.Combine(_work.FullName, "checkpoints", "my-run-resumed", "step-000004.ckpt")), resumedOut);
    }

    [Fact]
    public async Task A_diverged_run_exits_1_and_says_why_once()
    {
        var spec = Path.Combine(_work.FullName, "spec.yaml");
        await File.WriteAllTextAsync(spec, RedisCluster.SpecYaml(steps: 6, checkpointEvery: 6));
        var environment = new Dictionary<string, string?> { ["SEGCLUSTER_Node__CheckpointDirectory"] = Path.Combine(_work.FullName, "checkpoints") };
        using var cli = CliProcess.StartAt(CliProcess.DefaultDll, environment,
            ["train", spec, "--out", Path.Combine(_work.FullName, "out"), "--set", "training.learning_rate=1e12"]);
        var (exit, stdout, stderr) = await cli.WaitAsync(Limit);

        Assert.True(exit == 1, $"exit {exit}\n{stdout}\n{stderr}");
        // The command's error line only: the embedded node's console does not repeat it for the experiment and each rank.
        var reasons = Regex.Matches(stdout + stderr, "is not finite|is NaN|is infinite").Count;
        Assert.True(reasons == 1, $"the reason is printed {reasons} times:\n{stdout}\n{stderr}");
        Assert.Contains("Lower the learning rate", stdout + stderr);
    }

    /// <summary>Runs `train` with its checkpoints and result.json under the test's folder; returns result.json and stdout
    /// with Spectre's line wrapping undone.</summary>
    private async Task<(JsonElement Result, string Stdout)> TrainAsync(string spec, string id, params string[] arguments)
    {
        var output = Path.Combine(_work.FullName, id);
        var environment = new Dictionary<string, string?> { ["SEGCLUSTER_Node__CheckpointDirectory"] = Path.Combine(_work.FullName, "checkpoints") };
        using var cli = CliProcess.StartAt(CliProcess.DefaultDll, environment, ["train", spec, "--id", id, "--out", output, .. arguments]);
        var (exit, stdout, stderr) = await cli.WaitAsync(Limit);
        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");
        using var result = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "result.json")));
        return (result.RootElement.Clone(), Regex.Replace(stdout, @"\s*\n\s*", " "));
    }

    public void Dispose() => _work.Delete(recursive: true);
}
