using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SegCluster.Abstractions.Messages;
using SegCluster.Cluster.Telemetry;
using SegCluster.Node.Hosting;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Telemetry:SeriesLimit reaches the OpenTelemetry meter provider: with a limit of 2, a third (experiment, worker) is
/// scraped in the overflow series, not under its own label; the step time histogram keeps SegCluster's buckets and the
/// phase histograms export sum and count only (a run's series 34, not ~115); segcluster_telemetry_series says the node is full, and the node logs one warning naming the setting.
/// </summary>
public sealed class TelemetrySeriesLimitTests
{
    [Fact]
    public async Task Past_the_series_limit_new_runs_go_to_the_overflow_series_with_a_warning()
    {
        var port = LoopbackPorts.Next();
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["Telemetry:SeriesLimit"] = "2";
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var warnings = new WarningRecorder();
        builder.Logging.ClearProviders().AddProvider(warnings);
        builder.Services.AddSingleton<SegClusterMetrics>();
        builder.AddSegClusterTelemetry();
        await using var app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        await app.StartAsync();

        var metrics = app.Services.GetRequiredService<SegClusterMetrics>();
        var step = new StepReport(0, 1, 0.5, 2, 0.1, 0.05, 0.02, 0.01, 100);
        foreach (var trial in new[] { "trial-0", "trial-1", "trial-2" })
        {
            metrics.RecordStep(new WorkerLabels(trial, "n/0", "n", "cpu"), step, learningRate: 0.1);
            metrics.RecordStep(new WorkerLabels(trial, "n/0", "n", "cpu"), step, learningRate: 0.1);  // the same series again
        }
        using var http = new HttpClient();
        var body = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        var images = body.Split('\n').Where(l => l.StartsWith("segcluster_train_images_total{", StringComparison.Ordinal)).ToList();

        Assert.Contains(images, l => l.Contains("experiment=\"trial-0\"", StringComparison.Ordinal));
        Assert.Contains(images, l => l.Contains("experiment=\"trial-1\"", StringComparison.Ordinal));
        Assert.DoesNotContain(images, l => l.Contains("trial-2", StringComparison.Ordinal));
        Assert.Contains(images, l => l.Contains("otel_metric_overflow=\"true\"", StringComparison.Ordinal));
        Assert.Contains("segcluster_train_step_duration_seconds_bucket{", body);
        Assert.Contains("le=\"30\"", body);  // SegClusterMetrics' bucket advice, not the SDK's default buckets
        Assert.Contains(body.Split('\n'), l => l.StartsWith("segcluster_telemetry_series{", StringComparison.Ordinal) && l.Contains("family=\"worker\"", StringComparison.Ordinal) && l.TrimEnd().EndsWith("} 2", StringComparison.Ordinal));
        // The phases export sum and count only (SegClusterMetrics.SumAndCountOnly), not SegCluster's 16 buckets.
        Assert.DoesNotContain("segcluster_train_data_wait_duration_seconds_bucket{", body);
        Assert.Contains(body.Split('\n'), l => l.StartsWith("segcluster_train_data_wait_duration_seconds_sum{", StringComparison.Ordinal) && l.Contains("trial-0", StringComparison.Ordinal));
        // A run's series, every instrument: 18 of the step histogram, 2 of each phase's, the counters and gauges (34).
        Assert.InRange(body.Split('\n').Count(l => !l.StartsWith('#') && l.Contains("experiment=\"trial-0\"", StringComparison.Ordinal)), 25, 40);
        var warning = Assert.Single(warnings.Messages);
        Assert.Contains("Telemetry:SeriesLimit", warning);
    }

    private sealed class WarningRecorder : ILoggerProvider, ILogger
    {
        public List<string> Messages { get; } = [];
        public ILogger CreateLogger(string categoryName) => categoryName == typeof(SegClusterMetrics).FullName ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) lock (Messages) Messages.Add(formatter(state, exception));
        }
        public void Dispose() { }
    }
}
