using System.CommandLine;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Grains;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Evaluation;
using SegCluster.Cli.Output;
using SegCluster.Cli.Remote;
using SegCluster.Cluster.Evaluation;
using SegCluster.Vision.Data.Files;
using Spectre.Console;

namespace SegCluster.Cli.Commands;

/// <summary>
/// `segcluster eval --checkpoint C --dataset D`: full-resolution evaluation of a checkpoint on a dataset split, spread over
/// the workers of an embedded cluster (default) or of a running one (--cluster); each worker takes a disjoint part and the
/// confusion matrices are summed. Prints the per-class table and writes JSON with --out.
/// </summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = CheckpointOption.Create();
        var dataset = new Option<string>("--dataset") { Description = "Root folder of the dataset (Cityscapes, VOC, ADE20K or folder layout), or synthetic: the built-in dataset under the checkpoint's spec (splits val, train).", Required = true };
        dataset.Check(value => !EvaluationDatasets.IsSynthetic(value) && !Directory.Exists(value)
            ? $"--dataset '{value}' is not a folder; give a dataset's root folder, or synthetic for the built-in dataset." : null);
        var format = new Option<string>("--format") { Description = $"Dataset format: {DatasetFormats.Auto} (detect), {string.Join(", ", DatasetFormats.Names)}.", DefaultValueFactory = _ => DatasetFormats.Auto };
        var split = new Option<string>("--split") { Description = "Split to evaluate.", DefaultValueFactory = _ => "val" };
        var workers = new Option<int>("--workers") { Description = "Workers of the embedded cluster, or at most this many free workers of --cluster.", DefaultValueFactory = _ => 2 };
        var output = new Option<FileInfo?>("--out") { Description = "Write the report (metrics, per-class IoU, confusion matrix) as JSON here." };
        workers.Check(v => v < 1 ? "--workers must be at least 1." : null);
        format.AcceptOnlyFromAmong([DatasetFormats.Auto, .. DatasetFormats.Names]);
        var inference = new InferenceArguments();
        var remote = new RemoteClusterOptions();
        var command = new Command("eval", "Evaluate a checkpoint at full resolution (whole or sliding window, flip and multi-scale), spread over the cluster's workers.")
        {
            checkpoint, dataset, format, split, workers, output,
        };
        inference.AddTo(command);
        remote.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = inference.Parse(parse, out var error);
            if (settings is null)
            {
                Console.Error.WriteLine($"error: {error}");
                return 2;
            }
            var job = new EvaluationJob(parse.GetValue(checkpoint)!.FullName, DatasetArgument(parse.GetValue(dataset)!), parse.GetValue(format)!, parse.GetValue(split)!, settings);
            int count;
            IReadOnlyList<string> classNames;
            try
            {
                (count, classNames) = job.Prepare();
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or DatasetFileException or IOException)
            {
                Console.Error.WriteLine($"error: {e.UserMessage()}");
                return 2;
            }
            // Before a cluster starts: a report that cannot be written was an unhandled exception after the evaluation.
            if (parse.GetValue(output) is { } report && !OutputFolder.IsWritableFile(report)) return 2;
            var console = AnsiConsole.Console;
            var workerCount = parse.GetValue(workers);
            async Task<int> Run(IGrainFactory grains, IReadOnlyList<string> workerIds, CancellationToken lost = default)
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lost);
                var result = await EvaluationRunner.RunAsync(console, job, grains, workerIds, count, classNames, stop.Token);
                EvaluationTable.Write(console, result);
                if (parse.GetValue(output) is not { } file) return 0;
                var written = await OutputFolder.TryWriteAsync(file.FullName, async () =>
                {
                    await result.WriteAsync(file.FullName, cancellationToken);
                    console.MarkupLineInterpolated($"report written to [bold]{file.FullName}[/]");
                });
                return written ? 0 : 1;
            }
            try
            {
                if (parse.GetValue(remote.Cluster) is null)
                {
                    await using var cluster = await EmbeddedCluster.StartAsync(workerCount, "cpu", httpPort: 0, cancellationToken);
                    return await Run(cluster.Grains, cluster.WorkerIds);
                }
                return await remote.RunAsync(parse, async client =>
                {
                    // Held while it runs, so the scheduler starts no experiment on the same devices; a lost lease stops it.
                    await using var lease = await WorkerLease.TakeAsync(client, "eval", workerCount);
                    try
                    {
                        return await Run(client, lease.WorkerIds, lease.Lost);
                    }
                    catch (OperationCanceledException) when (lease.Lost.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                    {
                        Console.Error.WriteLine($"error: evaluation stopped: {lease.LostReason}.");
                        return 1;
                    }
                }, cancellationToken);
            }
            catch (InvalidOperationException e)
            {
                Console.Error.WriteLine($"error: {e.UserMessage()}");
                return 1;
            }
        });
        return command;
    }

    private static string DatasetArgument(string value) => EvaluationDatasets.IsSynthetic(value) ? value : Path.GetFullPath(value);
}
