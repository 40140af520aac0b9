namespace SegCluster.Bench.Sweeps;

/// <summary>One row of sweep-scheduling: the figures of one trial duration, from the trials' recorded spans.</summary>
internal sealed record SweepSchedulingRun(
    double TrialWorkMs, int Trials, int Workers,
    double StartCallSeconds,      // validate + expand the trials + first persist
    double WallSeconds,           // start call to the sweep's end, as a client sees it
    double TrialsActiveSeconds,   // first trial start to last trial end
    double IdealSeconds, double TrialsPerSecond,
    double SchedulingOverheadMsPerTrialMean, double SchedulingOverheadMsPerTrialP50, double SchedulingOverheadMsPerTrialP99,
    double WorkerIdleFraction)
{
    public static SweepSchedulingRun From(IReadOnlyList<(int Index, string Worker, TimeSpan Start, TimeSpan End)> spans,
        int trials, int workers, TimeSpan work, TimeSpan startCall, TimeSpan wall)
    {
        var active = (spans.Max(s => s.End) - spans.Min(s => s.Start)).TotalSeconds;
        var busy = spans.Sum(s => (s.End - s.Start).TotalSeconds);
        // Per worker, the gap from one trial's end to its next trial's start.
        var gaps = spans.GroupBy(s => s.Worker)
            .SelectMany(w => w.OrderBy(s => s.Start).Zip(w.OrderBy(s => s.Start).Skip(1), (a, b) => (b.Start - a.End).TotalMilliseconds))
            .Order().ToList();
        if (gaps.Count == 0) gaps.Add(0);  // one trial per worker: no gap to measure
        return new SweepSchedulingRun(work.TotalMilliseconds, trials, workers, startCall.TotalSeconds, wall.TotalSeconds, active,
            trials * work.TotalSeconds / workers, trials / active,
            gaps.Average(), gaps[gaps.Count / 2], gaps[(int)(gaps.Count * 0.99)], 1 - busy / (workers * active));
    }
}
