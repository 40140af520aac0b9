using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Evaluation;
using Spectre.Console;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// `segcluster eval`'s distributed path on a real embedded cluster (in this process): the split spread over 3 workers
/// (disjoint parts, each on its worker's thread) gives exactly the confusion matrix of one worker doing all of it.
/// Sliding windows with overlap, flip and two scales make each image's prediction non-trivial.
/// </summary>
public sealed class DistributedEvaluationTests : IDisposable
{
    private readonly EvaluationFixtures _fixtures = new();

    public void Dispose() => _fixtures.Dispose();

    [Fact]
    public async Task Three_workers_sum_to_the_single_worker_confusion_matrix()
    {
        var checkpoint = _fixtures.Checkpoint("eval3");
        var job = new EvaluationJob(checkpoint, _fixtures.DatasetPath, "auto", "val",
            new InferenceSettings(InferenceSettings.SlideMode, 16, 16, 8, 8, Flip: true, Scales: [1.0, 1.5]));
        var (count, names) = job.Prepare();
        Assert.Equal(EvaluationFixtures.ValImages, count);

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(new StringWriter()) });
        await using var cluster = await EmbeddedCluster.StartAsync(3, "cpu", httpPort: 0, CancellationToken.None);
        var single = await EvaluationRunner.RunAsync(console, job, cluster.Grains, [cluster.WorkerIds[0]], count, names, CancellationToken.None);
        var spread = await EvaluationRunner.RunAsync(console, job, cluster.Grains, cluster.WorkerIds, count, names, CancellationToken.None);

        Assert.Equal(1, single.Workers);
        Assert.Equal(3, spread.Workers);
        Assert.Equal(single.Confusion.Count, spread.Confusion.Count);
        for (var row = 0; row < single.Confusion.Count; row++) Assert.Equal(single.Confusion[row], spread.Confusion[row]);
        // Every non-ignore pixel counted once: 3 bands, the top 2 rows of the last band ignored.
        var valid = EvaluationFixtures.ValImages * (EvaluationFixtures.Height * EvaluationFixtures.Width - 2 * (EvaluationFixtures.Width - 2 * EvaluationFixtures.Width / 3));
        Assert.Equal(valid, spread.Confusion.Sum(r => r.Sum()));
        Assert.Equal(single.Miou, spread.Miou);
        Assert.Equal(["background", "cat", "dog"], spread.Classes.Select(c => c.Name));
    }

    [Fact]
    public async Task A_cancelled_part_stops_before_its_next_image_and_frees_the_worker()
    {
        var checkpoint = _fixtures.Checkpoint("evalcancel");
        await using var cluster = await EmbeddedCluster.StartAsync(1, "cpu", httpPort: 0, CancellationToken.None);
        var worker = cluster.Grains.GetGrain<IWorkerGrain>(cluster.WorkerIds[0]);
        var slide = new InferenceSettings(InferenceSettings.SlideMode, 16, 16, 8, 8, Flip: true, Scales: [1.0, 1.5]);
        const int images = 10_000;  // the same image over and over: minutes of work that cannot finish first
        var request = new EvaluationRequest("long", checkpoint, _fixtures.DatasetPath, "val", Enumerable.Repeat(0, images).ToList(), slide);

        await worker.StartEvaluationAsync(request);
        await worker.CancelEvaluationAsync("other");  // another id: no effect
        await ExperimentPolling.UntilAsync(async () => (await worker.GetEvaluationAsync("long")).Done > 0, "the part made no progress");
        await worker.CancelEvaluationAsync("long");
        EvaluationProgress progress = null!;
        await ExperimentPolling.UntilAsync(async () => (progress = await worker.GetEvaluationAsync("long")).Finished, "the cancelled part did not stop");

        Assert.Equal("cancelled", progress.Error);
        Assert.InRange(progress.Done, 1, images - 1);
        await worker.StartEvaluationAsync(request with { EvaluationId = "next", Indices = [0] });  // not busy any more
        await ExperimentPolling.UntilAsync(async () => (await worker.GetEvaluationAsync("next")).Confusion is not null, "the next part did not finish");
    }

    [Fact]
    public void Parts_are_disjoint_and_cover_the_split()
    {
        foreach (var (count, parts) in new[] { (5, 3), (2, 3), (10, 1), (7, 7) })
        {
            var partition = DistributedEvaluation.Partition(count, parts);
            Assert.Equal(Enumerable.Range(0, count), partition.SelectMany(p => p));
            Assert.True(partition.Max(p => p.Length) - partition.Min(p => p.Length) <= 1);
        }
    }
}
