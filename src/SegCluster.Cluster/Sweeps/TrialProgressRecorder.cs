using System.Globalization;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps.Search;

namespace SegCluster.Cluster.Sweeps;

/// <summary>
/// What a running trial's reports do to its result, and ASHA's judgement of them (<see cref="AshaRungs"/>, when the
/// search is asha): a training step extends the loss curve, a validation the validations curve; the one that carries the
/// sweep's metric (the loss, or the validation metric: <see cref="SweepSpec.ValidatesAtRungs"/>) becomes the trial's
/// metric and, the first time at or past a rung, is recorded there and may stop the trial. Pure and deterministic; one per
/// driver of a sweep, rebuilt from its trials' saved rung values (<see cref="For"/>).
/// </summary>
public sealed class TrialProgressRecorder
{
    private readonly SweepSpec _spec;
    private readonly AshaRungs? _asha;
    private readonly int _maxCurvePoints;

    private TrialProgressRecorder(SweepSpec spec, AshaRungs? asha, int maxCurvePoints) =>
        (_spec, _asha, _maxCurvePoints) = (spec, asha, maxCurvePoints);

    /// <summary>The recorder of <paramref name="spec"/>'s sweep with ASHA's rungs rebuilt from every trial's rung values,
    /// also an interrupted or cancelled one's: launched again, it keeps those up to its checkpoint (<see cref="Relaunched"/>).</summary>
    /// <param name="maxCurvePoints">Curve points kept per trial (Sweeps:MaxCurvePoints).</param>
    public static TrialProgressRecorder For(SweepSpec spec, IEnumerable<TrialResult> trials, int maxCurvePoints)
    {
        if (spec.Search.Kind != SearchSpec.Asha) return new(spec, null, maxCurvePoints);
        var asha = new AshaRungs(spec.Search.MinBudget, spec.Search.ReductionFactor, spec.Search.Rungs, spec.Maximize);
        foreach (var trial in trials)
        {
            foreach (var rung in trial.Rungs) asha.Restore(trial.Index, rung.Step, rung.Value);
            // An attempt followed on (SweepTakeover) that continued from a checkpoint is not judged at rungs before it either.
            if (trial.ResumedFromStep is { } resumed) asha.ResumedFrom(trial.Index, resumed);
        }
        return new(spec, asha, maxCurvePoints);
    }

    /// <summary>The trial is launched again from its checkpoint at <paramref name="fromStep"/> (0: from scratch): its rung
    /// values up to that step stand, those past it are judged afresh (<see cref="AshaRungs.Relaunch"/>).</summary>
    public void Relaunched(int trial, int fromStep) => _asha?.Relaunch(trial, fromStep);

    /// <summary>Applies one report of <paramref name="trial"/>'s attempt, in step order.</summary>
    /// <returns>The trial with the report applied; <c>Continues</c> false when ASHA stops it (the reason set);
    /// <c>AtRung</c> true when a rung value was recorded, which the caller saves now, not when the trial ends: a
    /// coordinator that takes the sweep over must judge the others, and this trial launched again from a checkpoint,
    /// against it.</returns>
    public (TrialResult Trial, bool Continues, bool AtRung) Record(TrialResult trial, TrialProgress progress)
    {
        double? compared;  // the value of the sweep's metric this report carries, if any
        if (progress.Validation is { } validation)
        {
            compared = _spec.ValueOf(validation);
            if (compared is not { } value) return (trial, true, false);
            trial = trial with { Validations = Thin(trial.Validations, new CurvePoint(progress.Step, value), _maxCurvePoints), Metric = value };
        }
        else
        {
            compared = _spec.Metric == SweepSpec.Loss ? progress.Loss : null;
            trial = trial with
            {
                Steps = Math.Max(trial.Steps, progress.Step),
                Curve = Thin(trial.Curve, new CurvePoint(progress.Step, progress.Loss), _maxCurvePoints),
                Metric = compared ?? trial.Metric,
            };
        }
        int? rung = null;
        var decision = compared is { } reported && _asha is not null ? _asha.Report(trial.Index, progress.Step, reported, out rung) : AshaDecision.Continue;
        if (_asha is null || rung is not { } milestone) return (trial, decision == AshaDecision.Continue, false);
        trial = trial with { Rungs = trial.Rungs.Append(new CurvePoint(milestone, compared!.Value)).ToList() };
        if (decision == AshaDecision.Stop)
            trial = trial with
            {
                Reason = string.Create(CultureInfo.InvariantCulture,
                    $"ASHA: {_spec.Metric} {compared:F4} at the {milestone}-step rung is not in the top 1/{_spec.Search.ReductionFactor} of the {_asha.RecordedAt(_asha.Milestones.ToList().IndexOf(milestone)).Count - 1} trials recorded there"),
            };
        return (trial, decision == AshaDecision.Continue, true);
    }

    /// <summary>Appends <paramref name="point"/>; past <paramref name="max"/> points every other older point is dropped,
    /// so a trial's persisted curve stays small however many steps it runs.</summary>
    private static List<CurvePoint> Thin(IReadOnlyList<CurvePoint> curve, CurvePoint point, int max) =>
        (curve.Count < max ? curve : curve.Where((_, i) => i % 2 == 1)).Append(point).ToList();
}
