namespace SegCluster.EndToEnd.Tests;

/// <summary>Bad command lines get a message naming the problem and a non-zero exit; nothing is trained.</summary>
public sealed class BadInputTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>A one-trial sweep of one step on 32x32 synthetic scenes.</summary>
    private const string TinySweep =
        "name: tiny\nbase: { training: { steps: 1, batch_per_worker: 2 }, dataset: { height: 32, width: 32 } }\naxes:\n  - { path: seed, kind: grid, values: [1] }\n";

    /// <summary>Writes <paramref name="yaml"/> to spec.yaml in <paramref name="dir"/>; returns its path.</summary>
    internal static async Task<string> WriteSpecAsync(TempDirectory dir, string yaml)
    {
        var spec = Path.Combine(dir.FullName, "spec.yaml");
        await File.WriteAllTextAsync(spec, yaml);
        return spec;
    }

    [Theory]
    [InlineData("--bogus", "--bogus")]
    [InlineData("--image-size 30", "multiple of 16")]
    [InlineData("--image-size 64x0", "multiple of 16")]
    [InlineData("--image-size big", "--image-size")]
    [InlineData("--workers 0", "--workers")]
    [InlineData("--steps 0", "--steps")]
    [InlineData("--steps 5 --epochs 1", "not both")]
    [InlineData("--device gpu0", "cuda:N")]
    [InlineData("--label-mode bilinear", "--label-mode")]
    [InlineData("--label-factor 3 --label-mode soft-ce", "--label-factor")]
    [InlineData("--label-factor 4 --label-mode scribble", "--label-factor")]
    [InlineData("--decoder-truncation 0", "--decoder-truncation")]
    [InlineData("--precision fp8", "bf16-mixed")]
    [InlineData("--memory-format nhwc", "channels_last")]
    [InlineData("--set training.steps", "expected PATH=VALUE")]
    [InlineData("--set training.stepz=3", "'stepz' is not a field of training")]
    [InlineData("--set training.steps=many", "training.steps")]
    [InlineData("--set training.steps=0", "training.steps")]
    [InlineData("--resume /no/such/step-000004.ckpt", "training.resume_from: '/no/such/step-000004.ckpt' is not an existing file")]
    public async Task Quickstart_rejects_bad_options(string arguments, string expectedInMessage)
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, ["quickstart", .. arguments.Split(' ')]);
        Assert.NotEqual(0, exit);
        Assert.Contains(expectedInMessage, stdout + stderr);
        Assert.DoesNotContain("metrics: http", stdout); // the cluster never started
    }

    /// <summary>A usage error exits 2 with its "error:" line(s) and at most a one-line hint, whether an option's validator
    /// finds it while System.CommandLine parses (these printed the command's whole help and exited 1) or the command finds it
    /// after (an image size the model's stride refuses, a --set value), as docs/training.md says.</summary>
    [Theory]
    [InlineData("quickstart --workers 0", "--workers must be at least 1")]
    [InlineData("quickstart --steps 0", "--steps must be at least 1")]
    [InlineData("quickstart --steps 10 --epochs 1", "Give --steps or --epochs, not both")]
    [InlineData("quickstart --model foo", "--model 'foo' is unknown")]
    [InlineData("quickstart --metrics-port 99999", "--metrics-port must be 0 to 65535")]
    [InlineData("quickstart --bogus", "Unrecognized command or argument '--bogus'")]
    [InlineData("quickstart --image-size 50x50", "--image-size: 50 is not a valid image side")]
    [InlineData("quickstart --set model.name=foo", "model.name: 'foo' is unknown")]
    [InlineData("spectral --size 50x50", "--size '50x50'")]
    [InlineData("spectral --classes 1", "--classes 1 is out of range")]
    [InlineData("model info --size 0x10", "--size '0x10'")]
    [InlineData("eval --workers 0", "--workers must be at least 1")]
    [InlineData("results --top 0", "--top must be at least 1")]
    [InlineData("sweep", "Give a sweep SPEC file, or --resume SWEEP")]
    [InlineData("sweep SPEC --resume X", "Give SPEC or --resume, not both")]
    [InlineData("sweep --resume X --workers 1", "--workers cannot be given with --resume")]
    [InlineData("frobnicate", "Unrecognized command or argument 'frobnicate'")]
    [InlineData("model", "Required command was not provided.")]
    // A value that does not parse as the option's type, where the option has a range check too: the check read the
    // unparsed value and the CLI died with an unhandled exception (exit 134).
    [InlineData("quickstart --steps ten", "Cannot parse argument 'ten' for option '--steps'")]
    [InlineData("quickstart --workers two", "Cannot parse argument 'two' for option '--workers'")]
    [InlineData("results --top x", "Cannot parse argument 'x' for option '--top'")]
    [InlineData("spectral --classes x", "Cannot parse argument 'x' for option '--classes'")]
    [InlineData("spectral --min-energy x", "Cannot parse argument 'x' for option '--min-energy'")]
    [InlineData("dataset inspect . --limit x", "Cannot parse argument 'x' for option '--limit'")]
    [InlineData("sweep SPEC --workers x", "Cannot parse argument 'x' for option '--workers'")]
    [InlineData("sweep --resume X --workers x", "--workers cannot be given with --resume")]
    [InlineData("sweep SPEC --metrics-port x", "Cannot parse argument 'x' for option '--metrics-port'")]
    [InlineData("model info --width x", "Cannot parse argument 'x' for option '--width'")]
    public async Task A_usage_error_exits_2_with_its_error_and_at_most_a_one_line_hint(string arguments, string expectedInMessage)
    {
        var args = arguments.Split(' ').Select(a => a == "SPEC" ? RepoPaths.Of("examples", "sweeps", "tiny-grid.yaml") : a).ToArray();
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, args);
        Assert.Equal(2, exit);
        Assert.Contains($"error: {expectedInMessage}", stderr);
        Assert.DoesNotContain("dataset.height", stderr);  // a spec field an option set is named as the option, once
        Assert.Equal("", stdout);  // no help text, no banner
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Count(l => !l.StartsWith("error: ", StringComparison.Ordinal)) <= 1, stderr);
        Assert.DoesNotContain("Usage:", stderr);
    }

    /// <summary>A mistyped command or option is named with the one it likely meant: PyTorch scripts spell options with
    /// underscores (--batch_size). A mistyped command was also told that no command was given.</summary>
    [Theory]
    [InlineData("trian x.yaml", "error: Unrecognized command or argument 'trian' (did you mean 'train'?).")]
    [InlineData("model infp", "error: Unrecognized command or argument 'infp' (did you mean 'info'?).")]
    [InlineData("quickstart --batch_size 4", "error: Unrecognized command or argument '--batch_size' (did you mean '--batch-size'?).")]
    [InlineData("model info --clases 3", "error: Unrecognized command or argument '--clases' (did you mean '--classes'?).")]
    [InlineData("eval --libtroch x", "error: Unrecognized command or argument '--libtroch' (did you mean '--libtorch'?).")]
    public async Task A_mistyped_command_or_option_names_the_one_it_likely_meant(string arguments, string expectedLine)
    {
        var (exit, _, stderr) = await CliProcess.RunAsync(Limit, arguments.Split(' '));
        Assert.Equal(2, exit);
        Assert.Contains(expectedLine, stderr.Split('\n', StringSplitOptions.TrimEntries));
        Assert.DoesNotContain("Required command was not provided", stderr);
    }

    /// <summary>A device this build cannot train on (no CUDA in a CPU build; a GPU index no machine has) is named as the
    /// option before the banner, exit 2: the embedded node refused it after the banner naming its Node:Devices setting, exit 1.</summary>
    [Fact]
    public async Task An_unusable_device_is_named_as_the_option_before_anything_starts()
    {
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "quickstart", "--device", "cuda:99", "--steps", "1");
        Assert.Equal(2, exit);
        Assert.StartsWith("error: --device: ", stderr);
        Assert.DoesNotContain("Node:Devices", stderr);
        Assert.DoesNotContain("SegCluster", stdout);  // no banner
    }

    /// <summary>The starting checkpoint, the id (an option validator's error) and --detach, which only a cluster
    /// run can honour (exit 2), are checked before an embedded cluster starts: nothing trains.</summary>
    [Theory]
    [InlineData("--resume /no/such/step-000004.ckpt", 2, "training.resume_from: '/no/such/step-000004.ckpt' is not an existing file")]
    [InlineData("--load-from /no/such/best.ckpt", 2, "training.load_from: '/no/such/best.ckpt' is not an existing file")]
    [InlineData("--resume a.ckpt --load-from b.ckpt", 2, "set one, not both")]
    [InlineData("--id run#2", 2, "--id 'run#2' must not contain '#'")]
    [InlineData("--id ../../outside", 2, "--id '../../outside' has an empty, '.' or '..' part")]
    [InlineData("--detach", 2, "--detach needs --cluster (an embedded run ends with the command)")]
    public async Task Train_rejects_a_bad_starting_checkpoint_or_id(string arguments, int expectedExit, string expectedInMessage)
    {
        var spec = Path.Combine(Path.GetTempPath(), $"segcluster-bad-start-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(spec, RedisCluster.SpecYaml(steps: 2, checkpointEvery: 0, workers: 1));
        try
        {
            var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, ["train", spec, .. arguments.Split(' ')]);
            Assert.Equal(expectedExit, exit);
            Assert.Contains(expectedInMessage, stderr);
            Assert.DoesNotContain("metrics: http", stdout);
        }
        finally
        {
            File.Delete(spec);
        }
    }

    /// <summary>An --out folder that cannot be created (here under a file, which stops root too) is named before the cluster
    /// starts; it used to fail after the whole run, with a stack trace, losing its results.</summary>
    [Theory]
    [InlineData("quickstart")]
    [InlineData("train")]
    [InlineData("sweep")]
    [InlineData("spectral")]
    public async Task An_out_folder_that_cannot_be_written_is_named_before_anything_runs(string command)
    {
        using var dir = new TempDirectory("segcluster-bad-out-");
        var file = Path.Combine(dir.FullName, "a-file");
        await File.WriteAllTextAsync(file, "");
        var output = Path.Combine(file, "results");
        var spec = await WriteSpecAsync(dir, command == "sweep" ? TinySweep : RedisCluster.SpecYaml(steps: 2, checkpointEvery: 0, workers: 1));
        string[] args = command switch
        {
            "quickstart" => ["quickstart", "--steps", "1", "--workers", "1", "--image-size", "32"],
            "spectral" => ["spectral", "--images", "2", "--size", "32"],
            _ => [command, spec],
        };
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, [.. args, "--out", output]);
        Assert.Equal(2, exit);
        Assert.Contains($"error: --out '{output}' cannot be written", stderr);
        Assert.DoesNotContain("SegCluster", stdout);  // no run banner: the cluster never started
        Assert.DoesNotContain("spectral:", stdout);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    /// <summary>A flow mapping left open before the next key's line (a common typo) is a spec error naming the file and the
    /// line, exit 2 as other spec errors; it was YamlDotNet's InvalidOperationException and its stack trace, exit 1.</summary>
    [Theory]
    [InlineData("train")]
    [InlineData("sweep")]
    public async Task A_brace_left_open_is_named_as_invalid_yaml(string command)
    {
        using var dir = new TempDirectory("segcluster-open-brace-");
        var spec = await WriteSpecAsync(dir, "name: x\ndataset: { height: 32, width: 32\nmodel: {name: spgnet}\n");
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, command, spec);
        Assert.Equal(2, exit);
        Assert.Contains($"{spec}: 1 problem(s)", stderr);
        Assert.Matches(@"line \d+, column \d+: not valid YAML", stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    /// <summary>A spec given to the other kind's command is named in one line with the command that runs it; it was refused
    /// field by field (the sweep spec to `train`: 8 unknown fields; the experiment spec to `sweep`: 5, among them "model:
    /// did you mean 'mode'?"). spectral-sweep reads sweep specs.</summary>
    [Theory]
    [InlineData("train", "sweeps/tiny-grid.yaml", "this is a sweep spec, not an experiment spec; run it with `segcluster sweep ")]
    [InlineData("sweep", "experiments/tiny-synthetic.yaml", "this is an experiment spec, not a sweep spec; run it with `segcluster train ")]
    [InlineData("spectral-sweep", "experiments/tiny-synthetic.yaml", "this is an experiment spec, not a sweep spec; run it with `segcluster train ")]
    public async Task A_spec_of_the_other_kind_is_named_in_one_line(string command, string example, string expected)
    {
        var file = RepoPaths.Of(["examples", .. example.Split('/')]);
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, command, file);
        Assert.Equal(2, exit);
        Assert.Equal($"error: {file}: {expected}{file}`.", stderr.Trim());
        Assert.Equal("", stdout);
    }

    /// <summary>An embedded sweep checks its base's dataset folder as `train` does, before its cluster starts; it ran every
    /// trial to failure. The message names the base's field.</summary>
    [Theory]
    [InlineData("sweep")]
    [InlineData("spectral-sweep")]
    public async Task A_sweep_names_a_missing_base_dataset_before_any_trial(string command)
    {
        using var dir = new TempDirectory("segcluster-sweep-nothere-");
        var missing = Path.Combine(dir.FullName, "nothere");
        // spectral-sweep needs a labels.factor axis; both take it.
        var spec = await WriteSpecAsync(dir, TinySweep.Replace("dataset: {", $"dataset: {{ kind: files, path: '{missing}',")
            + "  - { path: labels.factor, kind: grid, values: [1, 2] }\n");
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, command, spec, "--out", Path.Combine(dir.FullName, "out"));
        Assert.Equal(2, exit);
        Assert.Contains($"error: base.dataset.path: '{missing}' is not an existing folder", stderr);
        Assert.DoesNotContain("metrics: http", stdout);
        Assert.DoesNotContain("SegCluster sweep", stdout);  // no banner: nothing started
    }

    /// <summary>A folder that is no dataset, named by `dataset inspect` and by `train`'s preflight without the dataset
    /// reader's "(Parameter 'root')".</summary>
    [Theory]
    [InlineData("dataset")]
    [InlineData("train")]
    public async Task A_folder_that_is_no_dataset_is_named_without_parameter_names(string command)
    {
        using var dir = new TempDirectory("segcluster-no-dataset-");
        var empty = Directory.CreateDirectory(Path.Combine(dir.FullName, "empty")).FullName;
        var spec = await WriteSpecAsync(dir, RedisCluster.SpecYaml(steps: 2, checkpointEvery: 0, workers: 1).Replace("dataset:\n", $"dataset:\n  kind: files\n  path: '{empty}'\n"));
        string[] args = command == "dataset" ? ["dataset", "inspect", empty] : ["train", spec];
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, args);
        Assert.Equal(2, exit);
        Assert.Contains($"{(command == "train" ? "dataset.path: " : "")}no dataset format recognised at '{empty}'", stderr);
        Assert.DoesNotContain("(Parameter", stderr);
        Assert.DoesNotContain("metrics: http", stdout);
    }

    /// <summary>Two quickstarts on the default metrics port: the second says so in one line, no stack trace.</summary>
    [Fact]
    public async Task A_busy_metrics_port_is_named_with_the_way_out()
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "quickstart", "--steps", "1", "--metrics-port", $"{port}");
        Assert.NotEqual(0, exit);
        Assert.Contains($"Port {port} is already in use", stdout + stderr);
        Assert.Contains("--metrics-port", stdout + stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    /// <summary>`segcluster node` on a port another process holds names the port and its flag in one line before anything
    /// starts (it was the bind error's stack trace, after the silo's and the host's logged ones).</summary>
    [Theory]
    [InlineData("--http-port", "HttpPort")]
    [InlineData("--silo-port", "SiloPort")]
    public async Task A_node_on_a_busy_port_names_the_port_and_its_flag(string busyFlag, string setting)
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var held = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        using var checkpoints = new TempDirectory("segcluster-busy-node-");
        List<string> args = ["node", "--node-id", "busy", "--devices", "cpu", "--checkpoint-dir", checkpoints.FullName];
        foreach (var flag in new[] { "--http-port", "--collective-port", "--silo-port", "--gateway-port" })
            args.AddRange([flag, $"{(flag == busyFlag ? held : LoopbackPorts.Next())}"]);
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, [.. args]);
        Assert.Equal(2, exit);
        Assert.Contains($"error: port {held} (Node:{setting}) is in use", stderr);
        Assert.Contains($"pass {busyFlag} with a free port", stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    /// <summary>`segcluster node --path-root` sets Node:PathRoots (repeatable, in order): a relative one is refused at
    /// start, named by its index, as from appsettings or the environment.</summary>
    [Fact]
    public async Task Node_path_roots_come_from_the_flag_and_a_relative_one_is_refused()
    {
        List<string> args = ["node", "--node-id", "roots", "--devices", "cpu", "--path-root", "/data", "--path-root", "data"];
        foreach (var flag in new[] { "--http-port", "--collective-port", "--silo-port", "--gateway-port" })
            args.AddRange([flag, $"{LoopbackPorts.Next()}"]);
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, [.. args]);
        Assert.Equal(2, exit);
        Assert.Contains("error: Node:PathRoots:1 'data' is relative", stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }
}
