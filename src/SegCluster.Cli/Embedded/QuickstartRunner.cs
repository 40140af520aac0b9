using System.Globalization;
using System.Text.RegularExpressions;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Cli.Commands;
using SegCluster.Cli.Output;
using SegCluster.Cluster.Nodes;
using SegCluster.Cluster.Security;
using SegCluster.Cluster.Training;
using Spectre.Console;

namespace SegCluster.Cli.Embedded;

/// <summary>Runs one experiment on an embedded cluster with a progress bar, then prints and saves the result.</summary>
public static class QuickstartRunner
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    /// <summary>How long a Ctrl+C'd run waits for its loops (a step, or a model still being built) before the node stops under them.</summary>
    private static readonly TimeSpan LoopStopLimit = TimeSpan.FromSeconds(15);

    /// <param name="experimentId">Names the run's checkpoint folder (train --id); null: the spec's name and the UTC time.</param>
    /// <returns>0 on completion (result.json beside the spec.yaml written as it started), 2 when the dataset, the starting
    /// checkpoint or <paramref name="output"/> is wrong (nothing started), 130 when <paramref name="cancellationToken"/> (Ctrl+C) stopped the run, else 1 (also when result.json could
    /// not be written).</returns>
    /// <param name="optionNames">Spec fields the command sets with options of its own (quickstart's --batch-size sets
    /// training.batch_per_worker): a run's failure that names such a field names the option instead, as the user typed it.</param>
    /// <param name="dryRun">`train --dry-run`: every check above and the banner, then 0 without starting the cluster (and
    /// without removing an earlier result.json).</param>
    public static async Task<int> RunAsync(ExperimentSpec spec, string? experimentId, int metricsPort, DirectoryInfo output, TimeSpan linger,
        CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? optionNames = null, bool dryRun = false)
    {
        // The dataset folder and the starting checkpoint are checked here, before a cluster starts (a cluster's scheduler
        // checks them on submit); the checkpoint's step is where this run starts. Any path: the files are its user's own.
        var (resolved, resumeFrom, errors, _, _) = await ExperimentPreflight.CheckAsync(spec, SpecPathPolicy.Unrestricted);
        if (UnusableDevice(spec, "device") is { } deviceProblem) errors.Add(deviceProblem);
        if (errors.Count > 0)
        {
            WriteErrors(errors, optionNames);
            return 2;
        }
        if (!OutputFolder.IsWritable(output) || (!dryRun && !QuickstartResult.RemoveEarlier(output))) return 2;
        var startStep = resumeFrom?.Step ?? 0;
        experimentId ??= RunIds.Timestamped(spec.Name);
        var console = AnsiConsole.Console;
        WriteBanner(console, spec, experimentId, startStep);
        // The run reads every file as it trains: a dry run checks the folders, not each image and mask.
        if (dryRun) return DryRunOption.Passed(spec.Dataset.Kind == DatasetSpec.Files
            ? $"every check passed (the images and masks are not decoded: `segcluster dataset inspect {spec.Dataset.Path}` checks each)"
            : "every check passed");
        try
        {
            await RunSpecFile.WriteAsync(output, resolved, CancellationToken.None);  // the run's own, whatever becomes of it
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: --out '{output.FullName}': {RunSpecFile.FileName} cannot be written ({e.Message}); choose another folder.");
            return 2;
        }

        EmbeddedCluster cluster;
        try
        {
            // One node sums its workers in memory, where no wire exists: a chosen wire means the loopback ring. Not cancelled
            // part-way (a silo whose start is cancelled logs an error with its stack): it takes a second; Ctrl+C ends the run after.
            cluster = await EmbeddedCluster.StartAsync(spec.Workers, spec.Device, metricsPort, CancellationToken.None,
                spec.Training.Wire is null ? null : EmbeddedCluster.NetworkRing);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        await using (cluster)
        {
            console.MarkupLineInterpolated($"metrics: {cluster.MetricsUri}");
            var experiment = cluster.Grains.GetGrain<IExperimentGrain>(experimentId);
            if (cancellationToken.IsCancellationRequested)
            {
                Console.WriteLine($"cancelled {experimentId} before it started");
                return 130;
            }
            try
            {
                await experiment.StartAsync(spec, cluster.WorkerIds);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                Console.Error.WriteLine($"error: {e.UserMessage()}");
                return 1;
            }
            ExperimentStatus status;
            try
            {
                status = await TrainingProgress.FollowAsync(console, experiment, PollInterval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: the in-process cluster ends with this process, so the run stops (`train --cluster` only stops
                // following). Its loops stop at their next step boundary; the node shuts down once they have.
                await experiment.CancelAsync();
                Console.WriteLine(CancelledLine(await experiment.GetStatusAsync()));  // plain: a path to copy must not be wrapped
                await cluster.WaitForLoopsAsync(LoopStopLimit);
                return 130;
            }

            if (status.State != ExperimentState.Completed || status.Evaluation is null)
            {
                Console.Error.WriteLine($"error: experiment {experimentId} {status.State.ToString().ToLowerInvariant()}: {InOptionTerms(status.Error, optionNames)}");
                return 1;
            }
            var result = QuickstartResult.From(experimentId, spec, status, startStep) with { LabelledFraction = await LabelledFractionAsync(resolved) };
            ResultTable.Write(console, result);
            var written = await OutputFolder.TryWriteAsync(output.FullName,
                async () => console.MarkupLineInterpolated($"wrote {await result.WriteAsync(output, cancellationToken)}"));
            if (status.Checkpoint is { } checkpoint)
                console.WriteLine($"checkpoint: {checkpoint.Path} (evaluate: {RunSummary.EvaluateCommand(spec, checkpoint.Path)})");
            // The run's status goes with this process: the only place it says where its best weights are.
            if (ExperimentStatusView.BestCheckpoint(status) is { } best) console.WriteLine($"best checkpoint: {best}");
            if (linger > TimeSpan.Zero)
            {
                // The final mIoU and experiment state exist only after the run; a scraper needs the node up to see them.
                console.MarkupLineInterpolated($"serving {cluster.MetricsUri} for {linger.TotalSeconds:F0} s more");
                try { await Task.Delay(linger, cancellationToken); }
                catch (OperationCanceledException) { return 130; }  // Ctrl+C ends the wait; the run and its files are complete
            }
            return written ? 0 : 1;
        }
    }

    /// <summary><see cref="AnnotationCost.LabelledFraction"/> of the run's (resolved) spec, off the console's thread; null, with a
    /// warning, when the dataset cannot be read for it any more.</summary>
    private static async Task<double?> LabelledFractionAsync(ExperimentSpec spec)
    {
        try
        {
            return await Task.Run(() => AnnotationCost.LabelledFraction(spec));
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or SegCluster.Vision.Data.Files.DatasetFileException)
        {
            Console.Error.WriteLine($"warning: the labelled share of the training labels could not be measured ({e.Message}); result.json leaves labelled_fraction null.");
            return null;
        }
    }

    /// <summary>Why the embedded node cannot train on the spec's device in this process (cuda:0 on a CPU build), naming it as
    /// <paramref name="name"/> (the field, or the option that set it); null when it can. Asked before the banner: the
    /// node's own check named Node:Devices once the cluster was starting, exit 1.</summary>
    public static string? UnusableDevice(ExperimentSpec spec, string name) =>
        SpecValidation.IsDevice(spec.Device) && NodeOptionsValidator.DeviceProblem(spec.Device) is { } problem ? $"{name}: {problem}" : null;

    /// <summary>The run's derived quantities up front, as torchtitan prints them; `train --cluster --dry-run` prints it too
    /// (<paramref name="embedded"/> false: the nodes' wire, not this process's reduction).</summary>
    public static void WriteBanner(IAnsiConsole console, ExperimentSpec spec, string experimentId, int startStep, bool embedded = true)
    {
        // Plain text, not markup: an id or a dataset path may hold ":word:", which Spectre's markup turns into an emoji.
        console.Write(new Paragraph($"SegCluster {experimentId}", new Style(decoration: Decoration.Bold)).Append(
            $": {spec.Model.Name} ({spec.Model.Backbone}) on {RunSummary.Dataset(spec.Dataset)}; {ArmLine(spec)}; {spec.Workers} worker(s) on {spec.Device} × batch {spec.Training.BatchPerWorker} = global batch {spec.Workers * spec.Training.BatchPerWorker}; {StepsLine(spec, startStep)}; norm {spec.Model.NormFor(spec.Workers)}{(spec.Model.Norm is null ? " (derived: " + spec.Workers + " worker(s))" : "")}; {(embedded ? WireLine(spec) : $"wire {spec.Training.Wire ?? "of the nodes' Collectives:Wire"}")}{LabelGridLine(spec)}"));
        console.WriteLine();
    }

    /// <summary>Beside the model and the label grid, what tells two arms of a paper's comparison apart (result.json records
    /// the same): "loss ce, seed 0", with the decoder truncation when it is on.</summary>
    internal static string ArmLine(ExperimentSpec spec) =>
        $"loss {spec.Loss.Kind}, seed {spec.Seed}" +
        (spec.Model.DecoderTruncation < 1 ? string.Create(CultureInfo.InvariantCulture, $", decoder truncation {spec.Model.DecoderTruncation}") : "");

    /// <summary>"; label grid 16x16 (labels.factor 4)" when the loss is on a coarse grid; with labels.downsample_input also
    /// the network's input size (PAPERS.md §3 low-resolution training); empty at full resolution.</summary>
    internal static string LabelGridLine(ExperimentSpec spec)
    {
        var (l, d) = (spec.Labels, spec.Dataset);
        if (l.Factor <= 1) return "";
        var grid = $"{d.Height / l.Factor}x{d.Width / l.Factor}";
        return l.DownsampleInput
            ? $"; network input {grid} (the image area-down-sampled by labels.factor {l.Factor}; labels from the {d.Height}x{d.Width} masks, validation scored at {d.Height}x{d.Width})"
            : $"; label grid {grid} (labels.factor {l.Factor}; network input {d.Height}x{d.Width})";
    }

    /// <summary>One "error:" line per problem, each field <paramref name="optionNames"/> sets named as its option: --image-size
    /// sets both sides, so its two errors become one.</summary>
    internal static void WriteErrors(IEnumerable<string> errors, IReadOnlyDictionary<string, string>? optionNames)
    {
        foreach (var error in errors.Select(e => InOptionTerms(e, optionNames)).Distinct()) Console.Error.WriteLine($"error: {error}");
    }

    /// <summary><paramref name="error"/> with each field of <paramref name="optionNames"/> replaced by its option (a whole
    /// path: not training.batch_per_worker_x, nor a prefix of a longer path).</summary>
    private static string? InOptionTerms(string? error, IReadOnlyDictionary<string, string>? optionNames) =>
        error is null || optionNames is null
            ? error
            : optionNames.Aggregate(error, (text, field) => Regex.Replace(text, $@"(?<![\w.]){Regex.Escape(field.Key)}(?!\w|\.\w)", field.Value));

    /// <summary>What a Ctrl+C'd run says: the step it reached and the checkpoint to continue from: its last one, else the
    /// one it resumed from.</summary>
    internal static string CancelledLine(ExperimentStatus status) =>
        $"cancelled {status.ExperimentId} at step {status.Step}/{status.TotalSteps}; " + (status.Checkpoint ?? status.ResumedFrom) switch
        {
            { } checkpoint => $"last checkpoint: {checkpoint.Path} (step {checkpoint.Step}{(status.Checkpoint is null ? ", the one this run resumed from" : "")}; " +
                              $"continue with the same command and --resume {checkpoint.Path})",
            null => "no checkpoint was written",
        };

    /// <summary>"8 steps", or for a run resumed from step 4 "steps 5-8 of 8 (from step 4)".</summary>
    private static string StepsLine(ExperimentSpec spec, int startStep) => startStep == 0
        ? $"{spec.TotalSteps} steps"
        : $"steps {startStep + 1}-{spec.TotalSteps} of {spec.TotalSteps} (from step {startStep})";

    private static string WireLine(ExperimentSpec spec) => spec.Training.Wire is { } wire
        ? $"wire {wire} (workers reduce over the loopback network ring)"
        // Both commands that run embedded (quickstart, train without --cluster) take --set; only quickstart has --wire.
        : $"reduction in memory (one node, no wire; --set training.wire={string.Join("|", TrainingSpec.Wires)} uses the loopback ring)";
}
