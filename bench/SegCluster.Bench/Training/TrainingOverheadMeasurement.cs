namespace SegCluster.Bench.Training;

/// <summary>The framework's step against a bare TorchSharp step on the same model, data and seed, measured in one run.</summary>
/// <param name="OverheadRatio">TrainerStepSecondsMedian / BareStepSecondsMedian (target ≤ 1.05).</param>
/// <param name="TrainerOptimizerSecondsMean">Mean of the trainer's own optimiser phase (unscale, clip, update of the parameters on their device).</param>
/// <param name="MemoryWarmupSteps">Trainer steps run before the first sample, so allocator caches have filled.</param>
/// <param name="RssSamplesBytes">Resident memory every <c>RssEvery</c> trainer steps of the memory run, starting after warm-up.</param>
/// <param name="RssGrowthRatio">(last − first) / first of <c>RssSamplesBytes</c> (target &lt; 0.01).</param>
/// <param name="LiveTensorSamples">TorchSharp tensors created and not yet disposed, sampled with <c>RssSamplesBytes</c>: flat = no tensor leak.</param>
/// <param name="Allocator">Which allocator served malloc (glibc, or jemalloc under LD_PRELOAD).</param>
/// <param name="TrimBeforeSample">Diagnostic run: malloc_trim(0) before each sample (not the default figure).</param>
/// <param name="TrimEverySteps">malloc_trim after every N trainer steps in every phase, as a node's worker loop does (0: off or not glibc).</param>
/// <param name="RssMaxGrowthRatio">(highest − first) / first of <c>RssSamplesBytes</c>: the worst sample, not only the last.</param>
/// <param name="TrimStepTimeRatio">Median over pairs of (time of N steps starting with a trim) / (time of N steps without one), pairs in ABBA order.</param>
/// <param name="TrimCallSeconds">Duration of each malloc_trim made by --trim-every during the timed and memory phases.</param>
/// <param name="MemorySamples">Each sample's breakdown: anonymous vs file pages, huge pages, threads, glibc in-use vs free.</param>
/// <param name="ManagedCommittedSamplesBytes">The .NET GC heap's committed bytes as of the latest collection (GCMemoryInfo), sampled with <c>RssSamplesBytes</c>.</param>
public sealed record TrainingOverheadMeasurement(
    string Model,
    long Parameters,
    int Size,
    int Batch,
    int Threads,
    int TimedStepsEach,
    double BareStepSecondsMedian,
    double TrainerStepSecondsMedian,
    double BareStepSecondsMin,
    double TrainerStepSecondsMin,
    double OverheadRatio,
    double OverheadRatioMin,
    double TrainerForwardBackwardSecondsMean,
    double TrainerAllReduceSecondsMean,
    double TrainerOptimizerSecondsMean,
    int MemoryWarmupSteps,
    int MemorySteps,
    int RssEvery,
    IReadOnlyList<long> RssSamplesBytes,
    double RssGrowthRatio,
    IReadOnlyList<long> LiveTensorSamples,
    IReadOnlyList<long> ManagedCommittedSamplesBytes,
    string Allocator,
    bool TrimBeforeSample,
    int TrimEverySteps,
    double RssMaxGrowthRatio,
    double? TrimStepTimeRatio,
    IReadOnlyList<double> TrimmedBlockSeconds,
    IReadOnlyList<double> UntrimmedBlockSeconds,
    IReadOnlyList<double> TrimCallSeconds,
    IReadOnlyList<MemorySample> MemorySamples);
