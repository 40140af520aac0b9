using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;

namespace SegCluster.Abstractions.Sweeps;

/// <summary>
/// A sweep as data: a base experiment, the axes that vary it (addressed by spec path), how trials are searched and
/// stopped, the metric to optimise, and the resources of each trial. Validate with <see cref="SweepValidation"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("SegCluster.SweepSpec")]
public sealed record SweepSpec
{
    public const string MeanIoU = "miou";
    public const string PixelAccuracy = "pixel_accuracy";
    public const string Loss = "loss";
    public const string Max = "max";
    public const string Min = "min";

    /// <summary>Valid <see cref="Metric"/> values: final validation mIoU, pixel accuracy, or training loss.</summary>
    public static readonly IReadOnlyList<string> Metrics = [MeanIoU, PixelAccuracy, Loss];

    /// <summary>The sweep's metric in an evaluation (a validation during training, or the final one); null for the loss.</summary>
    public double? ValueOf(EvaluationReport evaluation) => Metric switch
    {
        MeanIoU => evaluation.MeanIoU,
        PixelAccuracy => evaluation.PixelAccuracy,
        _ => null,
    };

    [Id(0)] public string Name { get; init; } = "sweep";
    [Id(1)] public ExperimentSpec Base { get; init; } = new();
    [Id(2)] public IReadOnlyList<SweepAxis> Axes { get; init; } = [];
    [Id(3)] public SearchSpec Search { get; init; } = new();
    [Id(4)] public string Metric { get; init; } = MeanIoU;
    /// <summary>'max' or 'min'; left out, it follows the metric (<see cref="EffectiveMode"/>).</summary>
    [Id(5)] public string? Mode { get; init; }
    [Id(6)] public int MaxConcurrentTrials { get; init; } = 2;
    /// <summary>Data-parallel workers of each trial; overrides base.workers.</summary>
    [Id(7)] public int WorkersPerTrial { get; init; } = 1;
    /// <summary>Optimizer steps of each trial (the ASHA budget unit); overrides base.training.steps/epochs when set.</summary>
    [Id(8)] public int? TrialSteps { get; init; }
    [Id(9)] public SpectralSkipSpec? SpectralSkip { get; init; }
    /// <summary>Times a failed trial is launched again, from its last checkpoint when it wrote one (Ray Tune's FailureConfig.max_failures); 0 = never.</summary>
    [Id(10)] public int MaxFailures { get; init; }

    /// <summary>The mode the metric asks for: loss is better lower, mIoU and pixel accuracy higher.</summary>
    public static string NaturalMode(string metric) => metric == Loss ? Min : Max;

    /// <summary><see cref="Mode"/> when set, else the metric's natural mode.</summary>
    public string EffectiveMode => Mode ?? NaturalMode(Metric);

    public bool Maximize => EffectiveMode == Max;

    /// <summary>Steps every trial runs unless stopped early.</summary>
    public int Budget => TrialSteps ?? TrialBase.TotalSteps;

    /// <summary>The base experiment with the sweep's per-trial resources and budget applied, and with ASHA on a validation
    /// metric, the validation that reports it at every rung.</summary>
    public ExperimentSpec TrialBase => Base with { Workers = WorkersPerTrial, Training = TrialTraining(Base.Training) };

    /// <summary>Whether trials report <see cref="Metric"/> during training: ASHA on mIoU or pixel accuracy compares the
    /// validations of its rungs, not the training loss (which a label grid or loss axis changes the meaning of).</summary>
    public bool ValidatesAtRungs => Search.Kind == SearchSpec.Asha && Metric is MeanIoU or PixelAccuracy;

    private TrainingSpec TrialTraining(TrainingSpec training)
    {
        if (TrialSteps is { } steps) training = training with { Steps = steps, Epochs = null };
        if (!ValidatesAtRungs || Search.MinBudget < 1 || Search.ReductionFactor < 2) return training;  // invalid: reported by Validate
        // Validations at min_budget·η^k up to the budget (each rung, and past the last one the same schedule) and after the
        // last step, not every min_budget steps: log_η(budget / min_budget) + 2 passes at most; the best checkpoint follows
        // the sweep's metric.
        return training with { ValidateEvery = Search.MinBudget, ValidateGrowth = Search.ReductionFactor, BestMetric = Metric };
    }

    /// <summary>Errors naming the field and the fix; empty when the sweep is valid.</summary>
    public IReadOnlyList<string> Validate() => SweepValidation.Validate(this);
}
