using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>`segcluster quickstart` end to end: embedded cluster, 2 workers over the gRPC ring, /metrics, result.json.</summary>
public sealed class QuickstartTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);
    private readonly DirectoryInfo _out = Directory.CreateTempSubdirectory("segcluster-e2e-");

    [Fact]
    public async Task Quickstart_trains_two_workers_serves_metrics_and_writes_the_result()
    {
        var port = LoopbackPorts.Next();
        // --set applies after the options: 12 steps, not 10.
        using var cli = CliProcess.Start("quickstart", "--workers", "2", "--steps", "10", "--set", "training.steps=12", "--image-size", "32x48",
            "--batch-size", "2", "--metrics-port", port.ToString(), "--out", _out.FullName);

        // Scrape /metrics while it trains, until every required series has appeared.
        string[] required =
        [
            "segcluster_train_images_total", "segcluster_train_images_per_second", "segcluster_train_step_duration_seconds",
            "segcluster_allreduce_duration_seconds", "segcluster_allreduce_busy_duration_seconds", "segcluster_allreduce_bytes_total", "segcluster_process_memory_bytes",
        ];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var seen = new HashSet<string>();
        var deadline = DateTime.UtcNow + Limit;
        while (seen.Count < required.Length && !cli.HasExited && DateTime.UtcNow < deadline)
        {
            // null: the node is not listening yet, or too busy to answer
            if (await http.TryGetStringAsync($"http://127.0.0.1:{port}/metrics") is { } body) seen.UnionWith(required.Where(body.Contains));
            await Task.Delay(200);
        }
        var (exit, stdout, stderr) = await cli.WaitAsync(Limit);

        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.Equal(required.Order(), seen.Order());
        Assert.Contains("mIoU", stdout);

        using var result = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out.FullName, "result.json")));
        var root = result.RootElement;
        Assert.InRange(root.GetProperty("miou").GetDouble(), 0.0, 1.0);
        Assert.Equal(12, root.GetProperty("steps").GetInt32());
        Assert.Equal(2, root.GetProperty("workers").GetInt32());
        Assert.True(root.GetProperty("images_per_second").GetDouble() > 0);
        Assert.Equal(6, root.GetProperty("class_iou").EnumerateObject().Count());
        // the resolved precision, not the spec's null: the CPU's defaults
        Assert.Equal("fp32", root.GetProperty("precision").GetString());
        Assert.Equal("contiguous", root.GetProperty("memory_format").GetString());
    }

    public void Dispose() => _out.Delete(recursive: true);
}
