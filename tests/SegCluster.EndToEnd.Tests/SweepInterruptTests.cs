namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Ctrl+C during `segcluster sweep` cancels the running trial and still writes the report (results.json) before the
/// CLI exits 130: cancelling, writing and stopping the embedded cluster take longer than System.CommandLine's default
/// 2 s grace, after which the process used to exit with the report unwritten.
/// </summary>
public sealed class SweepInterruptTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("segcluster-sweep-interrupt-");

    [Fact]
    public async Task Ctrl_c_cancels_the_sweep_and_writes_its_report()
    {
        var spec = Path.Combine(_dir.FullName, "long.yaml");
        await File.WriteAllTextAsync(spec, """
            name: long
            base:
              dataset: { height: 32, width: 32, train_count: 64, validation_count: 8 }
              model: { name: encoder-decoder, width: 4 }
              training: { batch_per_worker: 2 }
            axes:
              - { path: seed, kind: grid, values: [1, 2] }
            max_concurrent_trials: 1
            trial_steps: 100000
            """);
        var port = LoopbackPorts.Next();
        var root = Path.Combine(_dir.FullName, "out");
        using var cli = CliProcess.Start("sweep", spec, "--out", root, "--metrics-port", port.ToString());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await ExperimentPolling.UntilAsync(async () =>
            // null: not listening yet, or too busy to answer
            await http.TryGetStringAsync($"http://127.0.0.1:{port}/metrics") is { } metrics &&
            metrics.Split('\n').Any(l => l.StartsWith("segcluster_sweep_trials{", StringComparison.Ordinal) &&
                                         l.Contains("state=\"running\"", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" 1", StringComparison.Ordinal)),
            "the sweep's first trial never ran");

        await cli.InterruptAsync();
        var (exit, stdout, stderr) = await cli.WaitAsync(TimeSpan.FromMinutes(1));

        Assert.True(exit == 130, $"exit {exit}\n{stdout}\n{stderr}");
        var report = Assert.Single(Directory.GetFiles(root, "results.json", SearchOption.AllDirectories));
        var text = await File.ReadAllTextAsync(report);
        Assert.Contains("Cancelled", text, StringComparison.OrdinalIgnoreCase);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
