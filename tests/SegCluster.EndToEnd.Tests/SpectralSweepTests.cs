using System.Text.Json;
using SegCluster.Cli.Spectral;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// `segcluster spectral-sweep` end to end with real training (3 factors × 2 modes, 6 steps each): the report puts the
/// advisor's predicted figures next to every trained trial, summarises the ranking per mode, and draws the plot.
/// </summary>
[Collection(RealSweepCollection.Name)]
public sealed class SpectralSweepTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(300);

    private const string Spec = """
        name: tiny-spectral
        base:
          dataset: { height: 32, width: 32, train_count: 32, validation_count: 16 }
          model: { name: spgnet, width: 4 }
          training: { batch_per_worker: 4, evaluation_batch: 8 }
        axes:
          - { path: labels.mode, kind: grid, values: [nearest, soft-ce] }
          - { path: labels.factor, kind: grid, values: [1, 2, 4] }
        max_concurrent_trials: 2
        trial_steps: 6
        """;

    [Fact]
    public async Task A_spectral_sweep_reports_predicted_and_trained_figures_side_by_side()
    {
        using var root = new TempDirectory("segcluster-spectral-sweep-");
        var spec = Path.Combine(root.FullName, "tiny.yaml");
        File.WriteAllText(spec, Spec);
        var output = Path.Combine(root.FullName, "out");
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "spectral-sweep", spec, "--out", output, "--images", "16", "--shards", "2");
        Assert.True(exit == 0, stdout + stderr);

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, SpectralSweepRunner.JsonFile)));
        var rows = report.RootElement.GetProperty("Rows").EnumerateArray().ToList();
        Assert.Equal(6, rows.Count);
        Assert.Equal([1, 1, 2, 2, 4, 4], rows.Select(r => r.GetProperty("Factor").GetInt32()).Order());
        foreach (var row in rows)
        {
            Assert.True(row.GetProperty("State").GetString() == "Completed", row.ToString());
            Assert.InRange(row.GetProperty("PredictedMIoU").GetDouble(), 0.0, 1.0);
            Assert.InRange(row.GetProperty("TrainedMIoU").GetDouble(), 0.0, 1.0);
            Assert.True(row.GetProperty("ImagesPerSecond").GetDouble() > 0);
            Assert.True(row.GetProperty("ConvActivationMiB").GetDouble() > 0);
            Assert.Equal(0, row.GetProperty("AnnotationSaved").GetDouble());  // dense masks (nearest, soft-ce): nothing saved
        }
        // Factor 1 is predicted perfect for every mode; the recommendation is one of the factors and is marked.
        Assert.All(rows.Where(r => r.GetProperty("Factor").GetInt32() == 1), r => Assert.Equal(1.0, r.GetProperty("PredictedMIoU").GetDouble(), 9));
        var recommended = report.RootElement.GetProperty("RecommendedFactor").GetInt32();
        Assert.All(rows, r => Assert.Equal(r.GetProperty("Factor").GetInt32() == recommended, r.GetProperty("Recommended").GetBoolean()));
        Assert.Equal(["nearest", "soft-ce"], report.RootElement.GetProperty("Modes").EnumerateArray().Select(m => m.GetProperty("Mode").GetString()).Order());

        var png = File.ReadAllBytes(Path.Combine(output, SpectralSweepRunner.PlotFile));
        Assert.True(png.Length > 1000 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G');
        Assert.True(File.Exists(Path.Combine(output, "analysis", SpectralRunner.ReportFile)));
        Assert.Contains("advisor vs training", stdout);
    }

    [Fact]
    public async Task A_sweep_without_a_label_factor_axis_is_refused_with_the_fix()
    {
        using var root = new TempDirectory("segcluster-spectral-sweep-");
        var spec = Path.Combine(root.FullName, "bad.yaml");
        File.WriteAllText(spec, Spec.Replace("labels.factor", "seed"));
        var (exit, stdout, stderr) = await CliProcess.RunAsync(Limit, "spectral-sweep", spec, "--out", Path.Combine(root.FullName, "out"));
        Assert.Equal(2, exit);
        Assert.Contains("needs an axis 'labels.factor'", stdout + stderr);
    }

    [Theory]
    [InlineData(new[] { 1.0, 2, 3, 4 }, new[] { 10.0, 20, 30, 40 }, 1.0)]
    [InlineData(new[] { 1.0, 2, 3, 4 }, new[] { 4.0, 3, 2, 1 }, -1.0)]
    [InlineData(new[] { 1.0, 2, 3, 4, 5 }, new[] { 1.0, 3, 2, 4, 5 }, 0.9)]   // one swap: 1 − 6·2/(5·24)
    [InlineData(new[] { 1.0, 1, 2 }, new[] { 5.0, 6, 7 }, 0.8660254037844386)] // tie: ranks 1.5, 1.5, 3
    public void Spearman_correlation_of_ranks(double[] x, double[] y, double expected) =>
        Assert.Equal(expected, SpearmanCorrelation.Of(x, y), 12);
}
