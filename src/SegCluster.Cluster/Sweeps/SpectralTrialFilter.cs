using System.Globalization;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Spectral;
using SegCluster.Cluster.Sweeps.Search;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Spectral;

namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// The sweep's spectral skip option (PAPERS.md §2 "Efficient grid"): runs the <see cref="GridAdvisor"/> over the base
/// dataset's labels and skips trials whose label grid it predicts to lose more than the target. The prediction is the
/// oracle mIoU drop against full resolution: the soft oracle for soft-ce, soft-kl and block (coarse proportions, bilinear
/// up, argmax), the nearest oracle for nearest.
/// </summary>
public sealed class SpectralTrialFilter
{
    private const int BatchSize = 8;

    /// <summary>Whether the sweep asks for the analysis and a trial has a label grid coarser than full resolution.</summary>
    public static bool Applies(SweepSpec sweep, IReadOnlyList<(int Index, ExperimentSpec Spec)> trials) => MaySkip(sweep, trials) > 0;

    /// <summary>How many of <paramref name="trials"/> the analysis may skip: those with a label grid coarser than full
    /// resolution, when the sweep asks for it (what `sweep --dry-run` can say before the analysis decides).</summary>
    public static int MaySkip(SweepSpec sweep, IReadOnlyList<(int Index, ExperimentSpec Spec)> trials) =>
        sweep.SpectralSkip is null ? 0 : trials.Count(t => t.Spec.Labels.Factor != 1);

    /// <summary>Trial index → why it is skipped, for the trials (index, spec) predicted to lose too much.</summary>
    /// <param name="cancellationToken">Stops waiting (a cancelled sweep must not wait out the analysis); the analysis itself
    /// finishes in the background and is dropped.</param>
    public async Task<IReadOnlyDictionary<int, string>> SkipAsync(SweepSpec sweep, IReadOnlyList<(int Index, ExperimentSpec Spec)> trials,
        CancellationToken cancellationToken = default)
    {
        if (!Applies(sweep, trials) || sweep.SpectralSkip is not { } skip) return new Dictionary<int, string>();
        // Label statistics of the base dataset, off the grain scheduler: seconds to minutes of tensor work.
        var reports = await Task.Run(() => Analyse(sweep.TrialBase, skip.Images), CancellationToken.None).WaitAsync(cancellationToken);
        return Decide(reports, skip.MaxPredictedDrop, trials);
    }

    /// <summary>Marks the pending trials of <paramref name="trials"/> (a sweep's, by index) that are predicted to lose too
    /// much skipped, with the reason. False, with nothing changed, when <paramref name="cancellationToken"/> stopped the wait.</summary>
    public async Task<bool> SkipPendingAsync(SweepSpec sweep, List<TrialResult> trials, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<int, string> skipped;
        try
        {
            var pending = trials.Where(t => t.State == TrialState.Pending).Select(t => (t.Index, TrialPlanner.SpecFor(sweep, t.Name, t.Parameters))).ToList();
            skipped = await SkipAsync(sweep, pending, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        foreach (var (index, reason) in skipped)
            trials[index] = trials[index] with { State = TrialState.Skipped, Reason = reason };
        return true;
    }

    /// <summary>The pure decision: a trial is skipped when its factor's predicted oracle mIoU drop exceeds <paramref name="maxDrop"/>.</summary>
    public static IReadOnlyDictionary<int, string> Decide(IReadOnlyList<GridFactorReport> reports, double maxDrop, IReadOnlyList<(int Index, ExperimentSpec Spec)> trials)
    {
        var full = reports.Single(r => r.Factor == 1);
        var skipped = new Dictionary<int, string>();
        foreach (var (index, spec) in trials)
        {
            var report = reports.FirstOrDefault(r => r.Factor == spec.Labels.Factor);
            if (spec.Labels.Factor == 1 || report is null) continue;
            var nearest = spec.Labels.Mode == LabelsSpec.Nearest;
            var (oracle, baseline) = nearest ? (report.OracleMIoUNearest, full.OracleMIoUNearest) : (report.OracleMIoUSoft, full.OracleMIoUSoft);
            var drop = baseline - oracle;
            if (drop <= maxDrop) continue;
            skipped[index] = string.Create(CultureInfo.InvariantCulture,
                $"spectral: labels.factor {report.Factor} ({report.GridHeight}x{report.GridWidth} grid, {spec.Labels.Mode}) is predicted to lose {100 * drop:F1} mIoU points " +
                $"({(nearest ? "nearest" : "soft")} oracle {100 * oracle:F1}% vs {100 * baseline:F1}% at full resolution; {100 * report.EnergyRetained:F1}% of label energy kept), " +
                $"more than spectral_skip.max_predicted_drop {100 * maxDrop:F1}");
        }
        return skipped;
    }

    private static IReadOnlyList<GridFactorReport> Analyse(ExperimentSpec spec, int images)
    {
        var dataset = ShardSpectralAnalyser.Labels(spec, images);  // the trials' own labels: synthetic scenes or the files' masks
        return ShardSpectralAnalyser.Analyse(dataset, Enumerable.Range(0, Math.Min(images, dataset.Count)), BatchSize).Advise(new GridAdvisorOptions()).Factors;
    }
}
