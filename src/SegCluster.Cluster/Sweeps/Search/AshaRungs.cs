namespace SegCluster.Cluster.Sweeps.Search;

/// <summary>
/// Asynchronous successive halving (ASHA; Li et al., MLSys 2020), in the stopping form Ray Tune's ASHAScheduler uses:
/// rung k sits at MinBudget·η^k steps. The first report of a trial at or past a rung (the highest one it has reached)
/// compares it with the values already recorded there: if it is worse than their (1 − 1/η) quantile (linear
/// interpolation, numpy's default) the trial stops. Its value is recorded either way. A trial recorded at a rung has
/// passed every rung below it: a later report never fills a lower rung it skipped (Ray Tune's _Bracket.on_result stops
/// at the highest rung reached), since its later, usually better value would judge it, and set the cutoff for the others,
/// at a budget it had not trained for then. Pure and deterministic: the decisions depend only on the order of reports.
/// </summary>
public sealed class AshaRungs
{
    private readonly int[] _milestones;
    private readonly Dictionary<int, double>[] _recorded;
    private readonly Dictionary<int, int> _resumedFrom = [];  // trial → the checkpoint step it was launched again from
    private readonly bool _maximize;
    private readonly double _quantile;

    public AshaRungs(int minBudget, int reductionFactor, int rungs, bool maximize)
    {
        if (minBudget < 1) throw new ArgumentOutOfRangeException(nameof(minBudget), minBudget, "min_budget must be at least 1.");
        if (reductionFactor < 2) throw new ArgumentOutOfRangeException(nameof(reductionFactor), reductionFactor, "reduction_factor must be at least 2.");
        if (rungs < 1) throw new ArgumentOutOfRangeException(nameof(rungs), rungs, "rungs must be at least 1.");
        _milestones = Enumerable.Range(0, rungs).Select(k => checked(minBudget * (int)Math.Pow(reductionFactor, k))).ToArray();
        _recorded = _milestones.Select(_ => new Dictionary<int, double>()).ToArray();
        _maximize = maximize;
        _quantile = 1 - 1.0 / reductionFactor;
    }

    /// <summary>Rung budgets in steps, ascending.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>Values recorded at rung <paramref name="rung"/>, by trial.</summary>
    public IReadOnlyDictionary<int, double> RecordedAt(int rung) => _recorded[rung];

    /// <summary>A trial's metric after <paramref name="step"/> steps. <paramref name="milestone"/> is the rung budget
    /// the value was recorded at, or null when the report crossed no new rung.</summary>
    public AshaDecision Report(int trial, int step, double metric, out int? milestone)
    {
        milestone = null;
        for (var k = _milestones.Length - 1; k >= 0; k--)
        {
            if (step < _milestones[k]) continue;
            // Passed already: recorded here (so at every rung it reached below), or trained past it before the checkpoint it resumed from.
            if (_recorded[k].ContainsKey(trial) || _milestones[k] <= _resumedFrom.GetValueOrDefault(trial)) return AshaDecision.Continue;
            var score = Score(metric);
            var decision = _recorded[k].Count > 0 && score < Quantile(_recorded[k].Values) ? AshaDecision.Stop : AshaDecision.Continue;
            _recorded[k][trial] = score;
            milestone = _milestones[k];
            return decision;
        }
        return AshaDecision.Continue;
    }

    /// <summary>Replays a value recorded before (e.g. by a coordinator that was lost) without deciding anything.</summary>
    public void Restore(int trial, int milestone, double metric)
    {
        var k = Array.IndexOf(_milestones, milestone);
        if (k >= 0) _recorded[k][trial] = Score(metric);
    }

    /// <summary>
    /// <paramref name="trial"/> is launched again from its checkpoint at <paramref name="fromStep"/> (0: from scratch). Its
    /// values at rungs up to that step stand, as Ray Tune's scheduler keeps a restored trial's rung results; those past it
    /// came from the steps the new attempt trains again and are dropped, to be judged afresh when it gets there. Its
    /// reports start after <paramref name="fromStep"/>, so none is recorded at a rung at or before it, also one the
    /// earlier attempt left unrecorded.
    /// </summary>
    public void Relaunch(int trial, int fromStep)
    {
        for (var k = 0; k < _milestones.Length; k++)
            if (_milestones[k] > fromStep) _recorded[k].Remove(trial);
        ResumedFrom(trial, fromStep);
    }

    /// <summary><paramref name="trial"/>'s current attempt continued from its checkpoint at <paramref name="fromStep"/>: no
    /// rung at or before that step is recorded from its reports. For a coordinator rebuilding this state (its values come
    /// from <see cref="Restore"/>) while the attempt runs on; <see cref="Relaunch"/> sets it for a new attempt.</summary>
    public void ResumedFrom(int trial, int fromStep) => _resumedFrom[trial] = fromStep;

    /// <summary>Higher is better inside; NaN (a diverged trial) is worst.</summary>
    private double Score(double metric) => double.IsNaN(metric) ? double.NegativeInfinity : _maximize ? metric : -metric;

    private double Quantile(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var position = _quantile * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        if (double.IsNegativeInfinity(sorted[low]) || low == high) return sorted[low];
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }
}
