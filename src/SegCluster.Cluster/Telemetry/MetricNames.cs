namespace SegCluster.Cluster.Telemetry;

/// <summary>
/// The telemetry contract, defined once (docs/metrics.md). OpenTelemetry instrument names; the Prometheus
/// exporter turns dots into underscores and appends the unit (<c>_seconds</c>, <c>_bytes</c>) and
/// <c>_total</c> for counters.
/// </summary>
public static class MetricNames
{
    public const string Meter = "SegCluster";

    public const string TrainImages = "segcluster.train.images";
    public const string TrainThroughput = "segcluster.train.images_per_second";
    public const string TrainStepDuration = "segcluster.train.step.duration";
    public const string TrainDataWait = "segcluster.train.data_wait.duration";
    public const string TrainForwardBackward = "segcluster.train.forward_backward.duration";
    public const string TrainOptimizer = "segcluster.train.optimizer.duration";
    public const string TrainLoss = "segcluster.train.loss";
    public const string AllReduceDuration = "segcluster.allreduce.duration";
    public const string AllReduceBytes = "segcluster.allreduce.bytes";
    public const string AllReduceBusy = "segcluster.allreduce.busy.duration";
    public const string TrainLearningRate = "segcluster.train.learning_rate";
    public const string TrainLossScale = "segcluster.train.loss_scale";
    public const string TrainSkippedSteps = "segcluster.train.skipped_steps";
    public const string AllReduceBandwidth = "segcluster.allreduce.bandwidth";
    public const string EvalMeanIoU = "segcluster.eval.miou";
    public const string Experiments = "segcluster.experiments";
    public const string ExperimentsFinished = "segcluster.experiments.finished";
    public const string ExperimentRecoveries = "segcluster.experiment.recoveries";
    public const string ExperimentStepsRedone = "segcluster.experiment.steps_redone";
    public const string ProcessMemory = "segcluster.process.memory";
    public const string DeviceMemory = "segcluster.device.memory";
    public const string DataCacheHits = "segcluster.data.cache.hits";
    public const string DataCacheMisses = "segcluster.data.cache.misses";
    public const string DataCacheSize = "segcluster.data.cache.size";
    public const string DataCacheHitRatio = "segcluster.data.cache.hit_ratio";
    public const string DataInvalidSamples = "segcluster.data.invalid_samples";
    public const string SchedulerQueue = "segcluster.scheduler.queue";
    public const string SchedulerWorkers = "segcluster.scheduler.workers";
    public const string SweepTrials = "segcluster.sweep.trials";
    public const string TelemetrySeries = "segcluster.telemetry.series";

    public static class Labels
    {
        public const string Experiment = "experiment";
        public const string Worker = "worker";
        public const string Node = "node";
        public const string Device = "device";
        public const string State = "state";
        public const string Kind = "kind";
        public const string Dataset = "dataset";
        public const string Sweep = "sweep";
        public const string Family = "family";
    }
}
