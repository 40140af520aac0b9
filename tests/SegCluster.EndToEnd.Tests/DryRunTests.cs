namespace SegCluster.EndToEnd.Tests;

/// <summary>`--dry-run` of train, sweep and spectral-sweep: the checks a real run makes before it starts anything (the spec,
/// the dataset folder, the trials as the sweep expands them), the banner a run prints, exit 0 with nothing started or
/// written; exit 2 on a problem, as the run.</summary>
public sealed class DryRunTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>A 4-trial grid on tiny synthetic scenes; labels.mode full at factor 2 is an invalid combination.</summary>
    private const string Sweep =
        "name: tiny\nbase: { training: { steps: 1, batch_per_worker: 2 }, dataset: { height: 32, width: 32 } }\naxes:\n" +
        "  - { path: labels.mode, kind: grid, values: [full, nearest] }\n  - { path: labels.factor, kind: grid, values: [1, 2] }\n";

    [Fact]
    public async Task Train_checks_and_prints_the_banner_without_starting_a_cluster()
    {
        using var dir = new TempDirectory("segcluster-dry-train-");
        var output = Path.Combine(dir.FullName, "out");
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "train", RepoPaths.Of("examples", "experiments", "tiny-synthetic.yaml"),
            "--id", "dry", "--out", output, "--dry-run");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("SegCluster dry: spgnet (tiny) on synthetic 32x32, 6 classes; loss ce, seed 0; 2 worker(s)", stdout);
        Assert.Contains("dry run: every check passed; nothing was started", stdout);
        Assert.DoesNotContain("metrics: http", stdout);  // no cluster
        Assert.Empty(Directory.EnumerateFileSystemEntries(output));
    }

    /// <summary>The banner's derived label quantities: the label grid of labels.factor, and with labels.downsample_input
    /// (PAPERS.md §3 low-resolution training) the network's input size; nothing at full resolution.</summary>
    [Fact]
    public void The_banner_names_the_label_grid_and_the_networks_input_size()
    {
        var spec = new Abstractions.Specs.ExperimentSpec
        {
            Dataset = new Abstractions.Specs.DatasetSpec { Height = 64, Width = 128 },
            Labels = new Abstractions.Specs.LabelsSpec { Mode = "soft-ce", Factor = 4 },
        };
        Assert.Equal("; label grid 16x32 (labels.factor 4; network input 64x128)", Cli.Embedded.QuickstartRunner.LabelGridLine(spec));
        Assert.StartsWith("; network input 16x32 (the image area-down-sampled by labels.factor 4",
            Cli.Embedded.QuickstartRunner.LabelGridLine(spec with { Labels = spec.Labels with { DownsampleInput = true } }));
        Assert.Equal("", Cli.Embedded.QuickstartRunner.LabelGridLine(new Abstractions.Specs.ExperimentSpec()));
    }

    /// <summary>The dataset folder is resolved as a real run resolves it, and the spec's own fields with --set are checked.</summary>
    [Theory]
    [InlineData("dataset.kind=files dataset.path=/no/such/folder", "dataset.path: '/no/such/folder' is not an existing folder")]
    [InlineData("training.steps=0", "training.steps: 0 must be at least 1")]
    public async Task Train_exits_2_on_what_the_run_would_refuse(string settings, string expected)
    {
        var sets = settings.Split(' ').SelectMany(s => new[] { "--set", s });
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, ["train", RepoPaths.Of("examples", "experiments", "tiny-synthetic.yaml"), .. sets, "--dry-run"]);
        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("dry run:", stdout);
    }

    /// <summary>With --cluster the spec is checked here and nothing connects (the address is unreachable); the nodes check
    /// its files on submit.</summary>
    [Fact]
    public async Task Train_on_a_cluster_checks_the_spec_without_connecting()
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "train", RepoPaths.Of("examples", "experiments", "tiny-synthetic.yaml"),
            "--cluster", "127.0.0.1:1", "--dry-run");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("dry run: the spec passed; the nodes of 127.0.0.1:1 check its dataset folder", stdout);
    }

    [Theory]
    [InlineData("sweep")]
    [InlineData("spectral-sweep")]
    public async Task A_sweep_expands_its_trials_and_names_the_ones_it_would_skip(string command)
    {
        using var dir = new TempDirectory("segcluster-dry-sweep-");
        var spec = await BadInputTests.WriteSpecAsync(dir, Sweep);
        var output = Path.Combine(dir.FullName, "out");
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, command, spec, "--out", output, "--dry-run");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("SegCluster sweep tiny: 4 trials (grid search)", stdout);
        Assert.Contains("would skip tiny-t001 (labels.mode=full, labels.factor=2): invalid combination: labels.factor: 2 needs a down-sampling mode", stdout);
        Assert.Contains("dry run: 3 of 4 trials would run, 1 skipped; nothing was started", stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(output));  // no report folder
    }

    /// <summary>spectral_skip decides after its label analysis, as the sweep starts: the dry run says how many trials it may
    /// skip (the 8 of label-grid's 10 with labels.factor > 1) instead of "10 of 10 trials would run" alone; spectral-sweep
    /// trains every grid whatever spectral_skip says, and says nothing of it.</summary>
    [Fact]
    public async Task A_sweep_with_spectral_skip_says_how_many_trials_the_analysis_may_skip()
    {
        var spec = RepoPaths.Of("examples", "sweeps", "label-grid.yaml");
        using var dir = new TempDirectory("segcluster-dry-spectral-");
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "sweep", spec, "--out", Path.Combine(dir.FullName, "out"), "--dry-run");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("spectral_skip: up to 8 of these trials (those with labels.factor > 1) may be skipped after the label analysis", stdout);
        Assert.Contains("dry run: 10 of 10 trials would run (up to 8 fewer with spectral_skip); nothing was started", stdout);

        (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "spectral-sweep", spec, "--out", Path.Combine(dir.FullName, "spectral"), "--dry-run");
        Assert.True(exit == 0, stdout + stderr);
        Assert.DoesNotContain("spectral_skip", stdout);
        Assert.Contains("dry run: 10 of 10 trials would run; nothing was started", stdout);
    }

    [Fact]
    public async Task A_sweep_of_only_invalid_combinations_exits_2()
    {
        using var dir = new TempDirectory("segcluster-dry-invalid-");
        var spec = await BadInputTests.WriteSpecAsync(dir, Sweep.Replace("[full, nearest]", "[full]").Replace("[1, 2]", "[2, 4]"));
        var (exit, _, stderr) = await CliProcess.RunAsync(Limit, "sweep", spec, "--out", Path.Combine(dir.FullName, "out"), "--dry-run");
        Assert.Equal(2, exit);
        Assert.Contains("error: every one of the 2 trials is an invalid combination", stderr);
    }

    /// <summary>spectral-sweep's own rule (a labels.factor axis) is checked too.</summary>
    [Fact]
    public async Task A_spectral_sweep_without_a_factor_axis_exits_2()
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "spectral-sweep", RepoPaths.Of("examples", "sweeps", "asha-lr.yaml"), "--dry-run");
        Assert.Equal(2, exit);
        Assert.Contains("a spectral sweep needs an axis 'labels.factor'", stderr);
        Assert.DoesNotContain("dry run:", stdout);
    }
}
