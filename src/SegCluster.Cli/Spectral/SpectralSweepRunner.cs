using System.Globalization;
using System.Text.Json;
using SegCluster.Abstractions;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cli.Embedded;
using SegCluster.Cli.Output;
using SegCluster.Cli.Sweeps;
using SegCluster.Cluster.Sweeps.Search;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Models;
using SegCluster.Vision.Spectral;
using Spectre.Console;

namespace SegCluster.Cli.Spectral;

/// <summary>
/// `segcluster spectral-sweep`: (1) the distributed label analysis of the sweep's base dataset, (2) the sweep itself (a
/// trial per labels.factor × labels.mode, and model.decoder_truncation if it is an axis) through the sweep machinery on
/// the same embedded cluster, (3) the advisor's predictions next to the trained figures: spectral-sweep.json, a PNG of
/// predicted and trained mIoU against the factor, a table.
/// </summary>
public static class SpectralSweepRunner
{
    public const string JsonFile = "spectral-sweep.json";
    public const string PlotFile = "predicted-vs-trained.png";
    public const string TruncationPlotFile = "truncation.png";
    public const string FactorAxis = "labels.factor";
    public const string ModeAxis = "labels.mode";
    public const string TruncationAxis = "model.decoder_truncation";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Why the sweep cannot be a spectral sweep; empty when it can.</summary>
    public static IReadOnlyList<string> Problems(SweepSpec spec)
    {
        var problems = spec.Validate().ToList();
        if (spec.Axes.FirstOrDefault(a => a.Path == FactorAxis) is not { } factor)
            problems.Add($"axes: a spectral sweep needs an axis '{FactorAxis}' (e.g. {{ path: {FactorAxis}, kind: grid, values: [1, 2, 4, 8] }}).");
        else if (!factor.IsDiscrete)
            problems.Add($"axes: '{FactorAxis}' must be a grid or choice axis (label grid factors are discrete).");
        if (spec.Search.Kind != SearchSpec.Grid)
            problems.Add($"search.kind: a spectral sweep trains every label grid; use kind grid (got '{spec.Search.Kind}').");
        return problems;
    }

    /// <summary>The spectral sweep on an embedded cluster of <paramref name="workers"/> workers started for it.</summary>
    /// <returns>Exit code: 0 done, 1 the sweep failed, 2 invalid spec, 130 cancelled.</returns>
    public static async Task<int> RunAsync(SweepSpec spec, int workers, SpectralAnalysisRequest analysis, double tolerance, DirectoryInfo output, CancellationToken cancellationToken)
    {
        if (!IsValid(spec)) return 2;
        EmbeddedCluster cluster;
        try
        {
            cluster = await EmbeddedCluster.StartAsync(workers, spec.Base.Device, httpPort: 0, cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        await using (cluster)
            return await RunOnAsync(spec, cluster.Grains, cluster.WorkerIds, $"an embedded cluster ({workers} workers)", analysis, tolerance, output, cancellationToken);
    }

    /// <summary>The sweep a spectral sweep runs: every grid is trained, whatever spectral_skip says (the point is to check the
    /// advisor's prediction against training).</summary>
    public static SweepSpec EveryGridTrained(SweepSpec spec) => spec with { SpectralSkip = null };

    /// <summary>Writes the problems of a spec that cannot be a spectral sweep to stderr; true when there are none.</summary>
    public static bool IsValid(SweepSpec spec)
    {
        var problems = Problems(spec);
        if (problems.Count > 0)
            Console.Error.WriteLine($"error: spectral sweep '{spec.Name}' is invalid:\n  - {string.Join("\n  - ", problems)}");
        return problems.Count == 0;
    }

    /// <summary>
    /// The analysis (shard grains wherever the cluster places them), then the sweep's trials on <paramref name="workerIds"/>,
    /// then the report: on an embedded cluster or through a client of a running one (`--cluster`).
    /// </summary>
    /// <param name="where">The cluster in words, for the output.</param>
    public static async Task<int> RunOnAsync(SweepSpec spec, IGrainFactory grains, IReadOnlyList<string> workerIds, string where,
        SpectralAnalysisRequest request, double tolerance, DirectoryInfo output, CancellationToken cancellationToken)
    {
        if (!IsValid(spec)) return 2;
        var console = AnsiConsole.Console;
        spec = EveryGridTrained(spec);
        var images = Math.Min(request.Images, spec.TrialBase.Dataset.TrainCount);

        var analysisOptions = new SpectralRunOptions(new DirectoryInfo(Path.Combine(output.FullName, "analysis")), spec.TrialBase, images, request.Shards,
            Advisor: request.Targets);
        SpectralReport analysis;
        try
        {
            var outcome = await SpectralRunner.AnalyseAsync(console, grains, analysisOptions, where, cancellationToken);
            analysis = SpectralRunner.Write(analysisOptions, outcome);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.UserMessage()}");
            return 2;
        }
        console.MarkupLineInterpolated($"advisor: recommended label grid factor {analysis.RecommendedFactor} (energy ≥ {SpectralRunner.Percent(analysis.MinEnergy)}, soft oracle mIoU drop ≤ {SpectralRunner.Percent(analysis.MaxOracleMIoUDrop)})");
        console.MarkupLineInterpolated($"trials on {workerIds.Count} worker(s): {string.Join(", ", workerIds)}");

        var (exit, status) = await SweepRunner.RunOnAsync(spec, grains, workerIds, output, cancellationToken);
        if (status is null) return exit;
        var rows = await RowsAsync(spec, status, analysis, grains);
        var report = Summarise(spec, analysis, request.Shards, rows, tolerance);
        console.Write(SpectralSweepTable.Create(report));
        var written = await OutputFolder.TryWriteAsync(output.FullName, () =>
        {
            File.WriteAllText(Path.Combine(output.FullName, JsonFile), JsonSerializer.Serialize(report, Json));
            SpectralSweepPlot.Write(report, Path.Combine(output.FullName, PlotFile));
            var truncation = SpectralSweepPlot.WriteTruncation(report, Path.Combine(output.FullName, TruncationPlotFile));
            console.MarkupLineInterpolated($"wrote {JsonFile}, {PlotFile}{(truncation ? ", " + TruncationPlotFile : "")} and analysis/ to {output.FullName}");
            return Task.CompletedTask;
        });
        return exit == 0 && !written ? 1 : exit;
    }

    /// <summary>Joins each trial with the advisor's figures for its factor and mode, its images/s, and its network's cost.</summary>
    private static async Task<List<SpectralSweepRow>> RowsAsync(SweepSpec spec, SweepStatus status, SpectralReport analysis, IGrainFactory grains)
    {
        var rows = new List<SpectralSweepRow>();
        foreach (var trial in status.Trials)
        {
            var trialSpec = TrialPlanner.SpecFor(spec, trial.Name, trial.Parameters);
            var (factor, mode) = (trialSpec.Labels.Factor, trialSpec.Labels.Mode);
            if (analysis.Factors.FirstOrDefault(f => f.Factor == factor) is not { } predicted) continue;
            var nearest = mode is LabelsSpec.Nearest or LabelsSpec.Full;
            double? imagesPerSecond = null;
            // The coordinator persists a trial's images/s as of its last step report, so reading it after the whole
            // sweep gives the trial's training rate (not divided by the time since, nor by its final evaluation).
            if (trial.ExperimentId is { } id && trial.State == TrialState.Completed)
                imagesPerSecond = (await grains.GetGrain<IExperimentGrain>(id).GetStatusAsync()).ImagesPerSecond;
            // A skipped trial's spec may not build (an invalid combination, e.g. vit with decoder truncation): no cost ("–").
            (long Bytes, double Macs)? cost = trial.State == TrialState.Skipped || trialSpec.Validate().Count > 0 ? null : Cost(trialSpec);
            rows.Add(new SpectralSweepRow(
                trial.Name, factor, mode, trialSpec.Model.DecoderTruncation, trial.State.ToString(),
                predicted.EnergyRetained, nearest ? predicted.OracleMIoUNearest : predicted.OracleMIoUSoft,
                nearest ? predicted.CrossEntropyGapNearest : predicted.CrossEntropyGapSoft, factor == analysis.RecommendedFactor,
                trial.MeanIoU, imagesPerSecond, cost?.Bytes * trialSpec.Training.BatchPerWorker / 1048576.0, cost?.Macs / 1e9, trial.Reason,
                1 - (trial.LabelledFraction ?? AnnotationCost.LabelledFraction(trialSpec))));  // as trained, or as it would have been
        }
        return rows;
    }

    /// <summary>Conv activation bytes and MACs of one image through the trial's network (its label grid and truncation).</summary>
    private static (long Bytes, double Macs) Cost(ExperimentSpec spec)
    {
        using var model = SpecMapping.BuildModel(spec);
        var (h, w) = (spec.Dataset.Height, spec.Dataset.Width);
        return (ActivationFootprint.ConvOutputBytes(model, h, w), ModelProfiler.Profile(model, h, w, model.OutputStride, maxProbeDivisor: 1).Macs);
    }

    /// <summary>Per mode (rows at truncation 1): Spearman ρ of predicted vs trained mIoU over the factors, and training's
    /// own choice: the coarsest factor within <paramref name="tolerance"/> of the finest factor's trained mIoU.</summary>
    public static SpectralSweepReport Summarise(SweepSpec spec, SpectralReport analysis, int shards, IReadOnlyList<SpectralSweepRow> rows, double tolerance)
    {
        var scored = rows.Where(r => r.TrainedMIoU is not null && r.DecoderTruncation == 1).ToList();
        var modes = scored.GroupBy(r => r.Mode).Select(g =>
        {
            var byFactor = g.OrderBy(r => r.Factor).ToList();
            var rho = SpearmanCorrelation.Of(byFactor.Select(r => r.PredictedMIoU).ToList(), byFactor.Select(r => r.TrainedMIoU!.Value).ToList());
            var finest = byFactor[0].TrainedMIoU!.Value;
            int? trained = byFactor.Where(r => r.TrainedMIoU >= finest - tolerance).Select(r => (int?)r.Factor).Max();
            return new SpectralSweepModeSummary(g.Key, byFactor.Count, Defined(rho), analysis.RecommendedFactor, trained, tolerance, trained == analysis.RecommendedFactor);
        }).ToList();
        var pooled = SpearmanCorrelation.Of(scored.Select(r => r.PredictedMIoU).ToList(), scored.Select(r => r.TrainedMIoU!.Value).ToList());
        return new SpectralSweepReport(spec.Name, analysis.Dataset, analysis.Images, shards, analysis.RecommendedFactor, Defined(pooled), modes, rows);
    }

    private static double? Defined(double value) => double.IsFinite(value) ? value : null;

    internal static string Format(double? value, string format) => value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
}
