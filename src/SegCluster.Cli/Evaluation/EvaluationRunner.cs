using System.Diagnostics;
using SegCluster.Vision.Metrics;
using Spectre.Console;

namespace SegCluster.Cli.Evaluation;

/// <summary>Runs a prepared <see cref="EvaluationJob"/> on a cluster's workers with a progress bar and returns the result.</summary>
public static class EvaluationRunner
{
    public static async Task<EvaluationResult> RunAsync(IAnsiConsole console, EvaluationJob job, IGrainFactory grains, IReadOnlyList<string> workerIds,
        int count, IReadOnlyList<string> classNames, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var request = job.Request($"eval-{Guid.NewGuid():N}");
        long[] counts = [];
        await console.Progress().AutoClear(false).StartAsync(async context =>
        {
            var bar = context.AddTask($"evaluating {count} images on {Math.Min(workerIds.Count, count)} workers", maxValue: count);
            counts = await DistributedEvaluation.RunAsync(grains, workerIds, request, count, done => bar.Value = done, cancellationToken);
            bar.Value = count;
        });
        var k = classNames.Count;
        var confusion = new ConfusionMatrix(k);
        counts.CopyTo(confusion.Counts, 0);
        var metrics = confusion.ToMetrics();
        var s = job.Inference;
        return new EvaluationResult(Path.GetFullPath(job.CheckpointPath), Path.GetFullPath(job.DatasetPath), job.Split, count, Math.Min(workerIds.Count, count),
            s.Mode, s.CropHeight > 0 ? $"{s.CropHeight}x{s.CropWidth}" : null, s.StrideHeight > 0 ? $"{s.StrideHeight}x{s.StrideWidth}" : null,
            s.Flip, s.Scales.Count > 0 ? s.Scales : [1.0], metrics.MeanIoU, metrics.PixelAccuracy,
            EvaluationResult.ClassTable(classNames, metrics), EvaluationResult.Rows(counts, k), clock.Elapsed.TotalSeconds);
    }
}
