using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// `segcluster sweep` end to end with real training: the example sweep (12 tiny trials: label mode × label grid ×
/// learning rate, run at 8 steps each, 2 at a time on an embedded cluster) ends with every result recorded, a report folder
/// with plots, and `segcluster results` reads it back and exports it.
/// </summary>
[Collection(RealSweepCollection.Name)]
public sealed class SweepTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task A_real_sweep_of_12_tiny_trials_records_every_result_and_results_exports_them()
    {
        using var root = new TempDirectory("segcluster-sweeps-");
        var (folder, report) = await RunExampleAsync("tiny-grid", root, TinyGridSteps);
        using var _ = report;
        var trials = report.RootElement.GetProperty("trials").EnumerateArray().ToList();
        // Name every trial that did not complete, with its recorded reason (a failed trial carries the native error).
        var unfinished = trials.Where(t => t.GetProperty("state").GetString() != "completed")
            .Select(t => $"trial {t.GetProperty("index").GetInt32()}: {t.GetProperty("state").GetString()} ({(t.TryGetProperty("reason", out var r) ? r.ToString() : "no reason")})").ToList();
        Assert.True(unfinished.Count == 0, string.Join("\n", unfinished));
        Assert.Equal("completed", report.RootElement.GetProperty("state").GetString());
        Assert.Equal(12, trials.Count);
        Assert.Equal(Enumerable.Range(0, 12), trials.Select(t => t.GetProperty("index").GetInt32()).Order());
        foreach (var trial in trials)
        {
            Assert.Equal("completed", trial.GetProperty("state").GetString());
            Assert.Equal(8, trial.GetProperty("steps").GetInt32());
            Assert.InRange(trial.GetProperty("miou").GetDouble(), 0.0, 1.0);
            Assert.Equal(trial.GetProperty("miou").GetDouble(), trial.GetProperty("metric").GetDouble());
            Assert.Equal(8, trial.GetProperty("curve").EnumerateArray().Last().GetProperty("step").GetInt32());
        }
        // Every combination ran once.
        var combos = trials.Select(t => string.Join("/", t.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("value").GetString()))).ToList();
        Assert.Equal(12, combos.Distinct().Count());

        foreach (var png in new[] { "metric-vs-labels-mode.png", "metric-vs-labels-factor.png", "metric-vs-training-learning_rate.png", "grid-factor-cost.png", "learning-curves.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(folder.FullName, png));
            Assert.True(bytes.Length > 1000 && bytes[1] == (byte)'P' && bytes[2] == (byte)'N' && bytes[3] == (byte)'G', png);
        }
        Assert.Equal(13, File.ReadAllLines(Path.Combine(folder.FullName, "results.csv")).Length);

        var csv = Path.Combine(root.FullName, "export.csv");
        var json = Path.Combine(root.FullName, "export.json");
        var listing = await CliProcess.RunAsync(Limit, "results", "--root", root.FullName);  // no sweep named: the list
        Assert.True(listing.ExitCode == 0, listing.Stdout + listing.Stderr);
        Assert.Contains(folder.Name, listing.Stdout);
        Assert.Contains("12 completed", listing.Stdout);

        var results = await CliProcess.RunAsync(Limit, "results", "tiny-grid", "--root", root.FullName, "--csv", csv, "--json", json, "--top", "3");
        Assert.True(results.ExitCode == 0, results.Stdout + results.Stderr);
        Assert.Contains(folder.Name, results.Stdout);
        var rows = File.ReadAllLines(csv);
        Assert.StartsWith("rank,trial,state,metric_miou,miou", rows[0]);
        Assert.Equal(13, rows.Length);
        var metrics = rows.Skip(1).Select(r => double.Parse(r.Split(',')[3], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(metrics.OrderDescending(), metrics);  // best first
        using var exported = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(12, exported.RootElement.GetProperty("trials").GetArrayLength());
    }

    /// <summary>ASHA on validation mIoU with real training (examples/sweeps/asha-miou.yaml: label mode × grid × learning
    /// rate, rungs at 10 and 30 steps): every trial validates at the rungs (and after its last step), ASHA stops trials at the rungs by those
    /// validations, and a stopped trial's metric is its last validation.</summary>
    [Fact]
    public async Task An_asha_sweep_on_validation_miou_stops_trials_at_the_rungs_by_their_validations()
    {
        using var root = new TempDirectory("segcluster-asha-miou-");
        var (folder, report) = await RunExampleAsync("asha-miou", root);
        using var _ = report;
        var trials = report.RootElement.GetProperty("trials").EnumerateArray().ToList();

        var stopped = trials.Where(t => t.GetProperty("state").GetString() == "stopped").ToList();
        Assert.NotEmpty(stopped);  // which ones, and how many, depends on the order trials reach the rungs in
        Assert.All(stopped, t => Assert.Matches(@"^ASHA: miou \d\.\d{4} at the (10|30)-step rung", t.GetProperty("reason").GetString()));
        foreach (var trial in trials.Where(t => t.GetProperty("state").GetString() is "stopped" or "completed"))
        {
            var validations = trial.GetProperty("validations").EnumerateArray().ToList();
            Assert.NotEmpty(validations);
            Assert.All(validations, v => Assert.Contains(v.GetProperty("step").GetInt32(), new[] { 10, 30, 90 }));  // the rungs, and the last step
            if (trial.GetProperty("state").GetString() == "stopped")
                Assert.Equal(validations[^1].GetProperty("value").GetDouble(), trial.GetProperty("metric").GetDouble());
            else
                Assert.Equal(90, validations[^1].GetProperty("step").GetInt32());
        }
        Assert.True(File.Exists(Path.Combine(folder.FullName, "validation-curves.png")));
    }

    /// <summary>`sweep --resume` (Ray Tune's Tuner.restore): the sweep's process is killed mid-sweep (SIGKILL, nothing
    /// written at the end), and the resumed sweep runs the rest on the state the node kept in files under the report folder:
    /// every trial ends completed, the ones finished before are not run again.</summary>
    [Fact]
    public async Task A_sweep_whose_process_was_killed_resumes_and_completes_without_rerunning_finished_trials()
    {
        using var root = new TempDirectory("segcluster-resume-");
        using (var first = CliProcess.Start("sweep", Example("tiny-grid", root, TinyGridSteps), "--out", root.FullName))
        {
            // Five experiments started: at least three trials have ended (two run at a time).
            var deadline = DateTime.UtcNow + Limit;
            while (Experiments(root) < 5)
            {
                Assert.False(first.HasExited, "the sweep ended before it could be killed");
                Assert.True(DateTime.UtcNow < deadline, "the sweep did not start 5 trials in time");
                await Task.Delay(50);
            }
        }  // killed
        var folder = Assert.Single(root.Info.GetDirectories("tiny-grid-*"));
        // The results so far were written while it ran (no final write: the process was killed); the list calls the
        // sweep interrupted, as no process holds it, and says how to resume it.
        using (var partial = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.FullName, "results.json"))))
        {
            Assert.Equal("running", partial.RootElement.GetProperty("state").GetString());
            Assert.Equal(12, partial.RootElement.GetProperty("trials").GetArrayLength());
        }
        var listing = await CliProcess.RunAsync(Limit, "results", "--root", root.FullName);
        Assert.Contains("interrupted", listing.Stdout);
        Assert.Contains($"resume an interrupted one with: segcluster sweep --resume {folder.Name}", listing.Stdout);

        // While another process holds the sweep (here: this one), a resume is refused before it starts a cluster.
        using (var held = SegCluster.Cli.Sweeps.SweepStateFolder.Read(folder, out var unreadable)?.TryLock(out unreadable))
        {
            Assert.True(held is not null, unreadable);
            var busy = await CliProcess.RunAsync(Limit, "sweep", "--resume", "tiny-grid", "--out", root.FullName);
            Assert.True(busy.ExitCode == 1, unreadable + busy.Stdout + busy.Stderr);
            Assert.Contains("is being run by another segcluster process", busy.Stderr);
        }

        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "sweep", "--resume", "tiny-grid", "--out", root.FullName);
        Assert.True(exit == 0, stdout + stderr);
        var before = int.Parse(System.Text.RegularExpressions.Regex.Match(stdout, @"(\d+) trials finished before, (\d+) to run").Groups[1].Value);
        Assert.InRange(before, 3, 11);
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.FullName, "results.json")));
        var trials = report.RootElement.GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(12, trials.Count);
        Assert.All(trials, t => Assert.Equal("completed", t.GetProperty("state").GetString()));
        // Finished trials kept their first attempt; only those interrupted by the kill (at most two) ran a second.
        Assert.InRange(trials.Count(t => t.GetProperty("attempt").GetInt32() == 2), 0, 2);
        Assert.All(trials, t => Assert.InRange(t.GetProperty("attempt").GetInt32(), 1, 2));
    }

    /// <summary>The tests run tiny-grid's 12 trials at this many steps: its own 200 (a minute, so that the trials differ)
    /// add nothing to what is checked here.</summary>
    private const int TinyGridSteps = 8;

    /// <summary>examples/sweeps/NAME.yaml, or with <paramref name="trialSteps"/> a copy of it with that trial_steps, written
    /// in <paramref name="root"/> (the sweep's name, and so its report folder's, stays the example's).</summary>
    private static string Example(string name, TempDirectory root, int? trialSteps = null)
    {
        var example = RepoPaths.Of("examples", "sweeps", $"{name}.yaml");
        if (trialSteps is not { } steps) return example;
        var copy = Path.Combine(root.FullName, $"{name}.yaml");
        File.WriteAllText(copy, System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(example), @"(?m)^trial_steps: \d+$", $"trial_steps: {steps}"));
        return copy;
    }

    /// <summary>Runs examples/sweeps/NAME.yaml (<see cref="Example"/>) to completion under <paramref name="root"/>; its report
    /// folder and results.json.</summary>
    private static async Task<(DirectoryInfo Folder, JsonDocument Report)> RunExampleAsync(string name, TempDirectory root, int? trialSteps = null)
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "sweep", Example(name, root, trialSteps), "--out", root.FullName);
        Assert.True(exit == 0, stdout + stderr);
        // Piped, the progress is plain lines printed as they change, not the live table redrawn at every poll (a 15 s
        // sweep wrote 393 lines into a log).
        Assert.DoesNotContain("running trial", stdout);
        var progress = stdout.Split('\n').Where(l => l.Contains(" finished · ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(progress);
        var folder = Assert.Single(root.Info.GetDirectories($"{name}-*"));
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.FullName, "results.json")));
        var trials = report.RootElement.GetProperty("trials").GetArrayLength();  // a line per change: a few per trial
        Assert.True(progress.Count <= 4 * trials + 2, $"{progress.Count} progress lines for {trials} trials:\n{string.Join('\n', progress)}");
        return (folder, report);
    }

    /// <summary>Ray Tune restores an interrupted trial from its checkpoint: trials that write checkpoints (into the report
    /// folder's checkpoints/) and are killed mid-run continue on --resume from their last one, not from step 0.</summary>
    [Fact]
    [Trait("Category", "Slow")]  // ~20 s: 600-step trials, killed and resumed
    public async Task Trials_killed_mid_run_continue_from_their_last_checkpoint_on_resume()
    {
        using var root = new TempDirectory("segcluster-resume-ckpt-");
        var spec = Path.Combine(root.FullName, "ckpt.yaml");
        await File.WriteAllTextAsync(spec, """
            name: ckpt
            base:
              dataset: { height: 32, width: 32, train_count: 32, validation_count: 8 }
              model: { name: spgnet, width: 4 }
              training: { batch_per_worker: 4, evaluation_batch: 8, checkpoint_every: 50 }
            axes:
              - { path: training.learning_rate, kind: grid, values: [0.02, 0.05] }
            max_concurrent_trials: 2
            trial_steps: 600
            """);
        var output = Path.Combine(root.FullName, "out");
        using (var first = CliProcess.Start("sweep", spec, "--out", output))
        {
            var deadline = DateTime.UtcNow + Limit;
            while (!Directory.Exists(output) || Directory.GetFiles(output, "step-*.ckpt", SearchOption.AllDirectories).Length < 2)
            {
                Assert.False(first.HasExited, "the sweep ended before both trials wrote a checkpoint");
                Assert.True(DateTime.UtcNow < deadline, "no checkpoints in time");
                await Task.Delay(50);
            }
        }  // killed

        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "sweep", "--resume", "ckpt", "--out", output);
        Assert.True(exit == 0, stdout + stderr);
        var folder = Assert.Single(new DirectoryInfo(output).GetDirectories("ckpt-*"));
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder.FullName, "results.json")));
        foreach (var trial in report.RootElement.GetProperty("trials").EnumerateArray())
        {
            Assert.Equal(("completed", 2, 600), (trial.GetProperty("state").GetString(), trial.GetProperty("attempt").GetInt32(), trial.GetProperty("steps").GetInt32()));
            var from = trial.GetProperty("resumed_from_step").GetInt32();
            Assert.True(from >= 50 && from % 50 == 0 && from < 600, $"resumed from step {from}");
        }
    }

    private static int Experiments(TempDirectory root) =>
        root.Info.Exists ? root.Info.GetFiles("*", SearchOption.AllDirectories).Count(f => f.Directory?.Name == "experiment.experiment" && !f.Name.EndsWith("#tmp")) : 0;  // not a record being written

    /// <summary>A document that is a list or a scalar gets the message `train` gives, not an InvalidOperationException's
    /// stack trace from looking up its axes.</summary>
    [Theory]
    [InlineData("sweep", "- name: a\n- name: b\n", "got a list")]
    [InlineData("spectral-sweep", "42\n", "got 42")]
    public async Task A_sweep_document_that_is_not_a_mapping_is_refused_in_one_line(string command, string text, string got)
    {
        using var dir = new TempDirectory("segcluster-badsweep-");
        var file = Path.Combine(dir.FullName, "list.yaml");
        await File.WriteAllTextAsync(file, text);
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, command, file);
        Assert.Equal(2, exit);
        Assert.Contains($"(document): expected a mapping, {got}", stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    [Fact]
    public async Task A_bad_sweep_spec_exits_with_the_field_and_nothing_runs()
    {
        using var dir = new TempDirectory("segcluster-badsweep-");
        var file = Path.Combine(dir.FullName, "bad.yaml");
        await File.WriteAllTextAsync(file, """
            name: bad
            axes:
              - { path: training.lr, kind: grid, values: [0.1] }
            search: { kind: asha, min_budget: 10 }
            mode: min
            """);
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "sweep", file);
        Assert.Equal(2, exit);
        Assert.Contains("axes[0].path", stderr);
        Assert.Contains("'lr' is not a field of training", stderr);
        Assert.Contains("mode: 'min' with metric: 'miou'", stderr);
        Assert.DoesNotContain("SegCluster sweep", stdout);
    }

    [Fact]
    public async Task Results_of_an_unknown_sweep_names_what_exists()
    {
        using var root = new TempDirectory("segcluster-noresults-");
        var (exit, _, stderr) = await CliProcess.RunAsync(Limit, "results", "nothing-here", "--root", root.FullName);
        Assert.Equal(2, exit);
        Assert.Contains("no sweep report 'nothing-here'", stderr);
        Assert.Contains("run `segcluster sweep SPEC` first", stderr);
    }

    /// <summary>A results.json that is JSON but no report, and an export to a folder that does not exist, are errors
    /// naming the file (exit 2), not a NullReferenceException or DirectoryNotFoundException stack trace.</summary>
    [Fact]
    public async Task Results_of_a_file_that_is_no_report_or_an_unwritable_export_name_the_file()
    {
        using var root = new TempDirectory("segcluster-badresults-");
        var folder = Directory.CreateDirectory(Path.Combine(root.FullName, "empty"));
        await File.WriteAllTextAsync(Path.Combine(folder.FullName, "results.json"), "{}");
        var (exit, _, stderr) = await CliProcess.RunAsync(Limit, "results", folder.FullName);
        Assert.True(exit == 2, stderr);
        Assert.Contains("is not a sweep report", stderr);
        Assert.DoesNotContain("   at ", stderr);

        var report = SegCluster.Cli.Sweeps.SweepReport.From(new SegCluster.Abstractions.Sweeps.SweepStatus("s", SegCluster.Abstractions.Sweeps.SweepState.Completed, new SegCluster.Abstractions.Sweeps.SweepSpec(), []));
        await File.WriteAllTextAsync(Path.Combine(folder.FullName, "results.json"), report.ToJson());
        var missing = Path.Combine(root.FullName, "no", "such", "folder", "r.csv");
        (exit, _, stderr) = await CliProcess.RunAsync(Limit, "results", folder.FullName, "--csv", missing);
        Assert.True(exit == 0 && File.Exists(missing), stderr);  // its folder is made, as --out's
        var stdout = "";
        (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "results", folder.FullName, "--csv", root.FullName);
        Assert.True(exit == 2, stderr);
        // The suggestion has the option's own extension (it said report.json for --csv).
        Assert.Contains($"--csv '{root.FullName}' is a folder; give a file, e.g. --csv {Path.Combine(root.FullName, "results.csv")}.", stderr);
        Assert.Equal("", stdout);  // checked before the table is printed
        (exit, _, stderr) = await CliProcess.RunAsync(Limit, "results", folder.FullName, "--json", root.FullName);
        Assert.True(exit == 2, stderr);
        Assert.Contains($"e.g. --json {Path.Combine(root.FullName, "results.json")}.", stderr);
    }

    /// <summary>`results` with no sweep under --root (a new user, or a typo in --root) says so instead of an empty table.</summary>
    [Fact]
    public async Task Results_with_no_sweeps_under_the_root_says_so()
    {
        using var root = new TempDirectory("segcluster-nosweeps-");
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "results", "--root", Path.Combine(root.FullName, "typo"));
        Assert.True(exit == 0, stderr);
        Assert.Contains($"no sweep reports under {Path.Combine(root.FullName, "typo")}", stdout);
    }
}
