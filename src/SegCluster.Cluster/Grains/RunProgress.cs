using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Sweeps;

namespace SegCluster.Cluster.Grains;

/// <summary>
/// What a coordinator (<see cref="ExperimentGrain"/>) keeps in memory of its ring's step reports: the latest step and loss
/// and the loss curve its followers page through (rank 0's), and the throughput since the first step, which the
/// coordinator copies into its record on every write so that a later activation reports the same images/s
/// (<see cref="Restore"/>). Used from the grain's turns only: not thread-safe.
/// </summary>
internal sealed class RunProgress
{
    private readonly LossCurve _losses = new();
    // Each ring's clock starts at its first step report, so that step's images (every rank's) have no measured time and
    // are left out; a re-formed ring starts a new clock (the recovery in between is not training).
    private DateTimeOffset? _lastStepAt;
    private int _clockStartStep;

    /// <summary>The latest step rank 0 reported, or the step a broken ring's successor resumes from (<see cref="RewindTo"/>).</summary>
    public int Step { get; private set; }

    /// <summary>The loss rank 0 reported last; NaN before any.</summary>
    public double Loss { get; private set; } = double.NaN;

    /// <summary>Images trained on since the first step, every rank's.</summary>
    public long Images { get; private set; }

    /// <summary>Time spent training, ring by ring: from each ring's first step report to its last.</summary>
    public TimeSpan TrainingTime { get; private set; }

    public double ImagesPerSecond
    {
        get
        {
            var trainingSeconds = TrainingTime.TotalSeconds;
            return Images > 0 && trainingSeconds > 0 ? Images / trainingSeconds : 0;
        }
    }

    /// <summary>Takes up the throughput a former activation recorded.</summary>
    public void Restore(long images, TimeSpan trainingTime) => (Images, TrainingTime) = (images, trainingTime);

    /// <summary>Counts a step report of the current ring. The caller drops the reports of an older ring or of a run that
    /// ended: they must not move the step or the throughput.</summary>
    public void Add(StepReport report, DateTimeOffset now)
    {
        // Training time ends at the last step report: final evaluation and the time after completion are not training.
        if (_lastStepAt is { } last) TrainingTime += now - last;
        else _clockStartStep = report.Step;
        _lastStepAt = now;
        if (report.Step > _clockStartStep) Images += report.Images;
        // Rank 0 speaks for the group: every rank has the same global loss and step.
        if (report.Rank == 0)
        {
            (Step, Loss) = (report.Step, report.Loss);
            _losses.Add(new CurvePoint(report.Step, report.Loss));
        }
    }

    /// <summary>Rank 0's losses after <paramref name="afterStep"/> (<see cref="LossCurve.After"/>).</summary>
    public IReadOnlyList<CurvePoint> LossesAfter(int afterStep) => _losses.After(afterStep);

    /// <summary>A ring is being launched: its first step report starts a new clock.</summary>
    public void NewRing() => _lastStepAt = null;

    /// <summary>A broken ring's successor resumes from <paramref name="resumeStep"/>: goes back there and returns how many
    /// steps the successor redoes.</summary>
    public int RewindTo(int resumeStep)
    {
        var redone = Math.Max(0, Step - resumeStep);
        Step = resumeStep;  // the next ring starts there: a formation that breaks before its first step redoes nothing more
        _losses.Rewind(resumeStep);  // the next ring reports the redone steps again: followers must not read them twice
        return redone;
    }
}
