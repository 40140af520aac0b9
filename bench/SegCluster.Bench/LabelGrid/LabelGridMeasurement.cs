namespace SegCluster.Bench.LabelGrid;

/// <summary>One training configuration at label grid factor f, measured in its own process.</summary>
/// <param name="RssBeforeTrainingBytes">Resident memory after building the model and data, before the first step.</param>
/// <param name="PeakRssBytes">High-water mark of resident memory at the end (VmHWM).</param>
/// <param name="PeakTrainingBytes">PeakRssBytes − RssBeforeTrainingBytes: what the steps added at their worst.</param>
/// <param name="StepSeconds">Mean wall time of the timed steps (the first step is a warm-up, not timed).</param>
public sealed record LabelGridMeasurement(
    string Model,
    int Factor,
    int[] LogitGrid,
    long Parameters,
    long RssBeforeTrainingBytes,
    long PeakRssBytes,
    long PeakTrainingBytes,
    double StepSeconds,
    double StepSecondsMin,
    int TimedSteps);
