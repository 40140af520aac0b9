using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Cluster.Tests.Sweeps;

/// <summary>
/// Scheduling scale of the sweep coordinator (not a timed test: it asserts only that every trial ran once and writes
/// the numbers to bench/sweep-scheduling.json). 1,000 trials with a no-op trainer over 16 workers on a real silo with
/// memory grain storage: wall time, scheduling overhead per trial (gap between a worker's trial ending and its next
/// starting) and worker idle fraction, for trials that take 0 ms and 20 ms.
/// Run: SEGCLUSTER_BENCH=1 dotnet test tests/SegCluster.Cluster.Tests -c Release --filter FullyQualifiedName~SweepSchedulingBench
/// </summary>
public sealed class SweepSchedulingBench
{
    private const int Trials = 1000, Workers = 16;

    [BenchFact]
    public async Task Thousand_noop_trials_over_16_workers()
    {
        var runs = new List<object>();
        foreach (var work in new[] { TimeSpan.Zero, TimeSpan.FromMilliseconds(20) })
            runs.Add(await MeasureAsync(work));
        var file = Path.Combine(RepoRoot(), "bench", "sweep-scheduling.json");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            benchmark = "sweep scheduling: 1,000 no-op trials over 16 workers, one silo, memory grain storage",
            machine = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
            measured_at = DateTime.UtcNow,
            runs,
        }, new JsonSerializerOptions { WriteIndented = true }));
    }

    private static async Task<object> MeasureAsync(TimeSpan work)
    {
        var runner = new NoOpTrialRunner(work);
        await using var cluster = await SweepClusters.StartAsync(runner);
        var sweep = new SweepSpec
        {
            Name = "bench", TrialSteps = 1, MaxConcurrentTrials = Workers, WorkersPerTrial = 1,
            Base = new ExperimentSpec { Training = new TrainingSpec { BatchPerWorker = 1 }, Dataset = new DatasetSpec { TrainCount = 16 } },
            Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Integer, Min = 0, Max = 1_000_000 }],
            Search = new SearchSpec { Kind = SearchSpec.Random, Samples = Trials, Seed = 1 },
        };
        var grain = cluster.Client.GetGrain<ISweepGrain>($"bench-{work.TotalMilliseconds}");
        var clock = Stopwatch.StartNew();
        await grain.StartAsync(sweep, SweepClusters.Workers(Workers));
        var started = clock.Elapsed;
        var status = await SweepClusters.UntilEndedAsync(grain, pollMilliseconds: 250);  // as the CLI polls
        var wall = clock.Elapsed;

        Assert.Equal(Trials, status.Count(TrialState.Completed));
        Assert.Equal(Trials, runner.Spans.Select(s => s.Index).Distinct().Count());
        var spans = runner.Spans.ToList();
        var first = spans.Min(s => s.Start);
        var last = spans.Max(s => s.End);
        var busy = spans.Sum(s => (s.End - s.Start).TotalSeconds);
        var active = (last - first).TotalSeconds;
        var gaps = spans.GroupBy(s => s.Worker)
            .SelectMany(w => w.OrderBy(s => s.Start).Zip(w.OrderBy(s => s.Start).Skip(1), (a, b) => (b.Start - a.End).TotalMilliseconds))
            .Order().ToList();
        return new
        {
            trial_work_ms = work.TotalMilliseconds,
            trials = Trials,
            workers = Workers,
            start_call_seconds = started.TotalSeconds,  // validate + expand 1,000 trials + first persist
            wall_seconds = wall.TotalSeconds,           // start call to the sweep's end, as a client sees it
            trials_active_seconds = active,             // first trial start to last trial end
            ideal_seconds = Trials * work.TotalSeconds / Workers,
            trials_per_second = Trials / active,
            scheduling_overhead_ms_per_trial_mean = gaps.Average(),
            scheduling_overhead_ms_per_trial_p50 = gaps[gaps.Count / 2],
            scheduling_overhead_ms_per_trial_p99 = gaps[(int)(gaps.Count * 0.99)],
            worker_idle_fraction = 1 - busy / (Workers * active),
        };
    }

    /// <summary>Holds its worker for a fixed time, reports one step, completes.</summary>
    private sealed class NoOpTrialRunner(TimeSpan work) : ITrialRunner
    {
        private static readonly Stopwatch Clock = Stopwatch.StartNew();
        public ConcurrentBag<(int Index, string Worker, TimeSpan Start, TimeSpan End)> Spans { get; } = [];

        public async Task<TrialOutcome> RunAsync(TrialLaunch launch, Func<TrialProgress, bool> progress, CancellationToken cancellationToken)
        {
            var start = Clock.Elapsed;
            if (work > TimeSpan.Zero) await Task.Delay(work, cancellationToken);
            else await Task.Yield();
            progress(new TrialProgress(1, 1.0));
            Spans.Add((launch.Index, launch.Workers[0], start, Clock.Elapsed));
            return new TrialOutcome(TrialState.Completed, 1, 1.0, new EvaluationReport(0.5, 0.5, [], []));
        }

        public Task AbandonAsync(string experimentId) => Task.CompletedTask;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SegCluster.sln"))) return dir.FullName;
        throw new InvalidOperationException("no SegCluster.sln above the test binaries");
    }
}

/// <summary>A fact that runs only when SEGCLUSTER_BENCH=1: benchmarks write JSON to bench/ and assert no timings.</summary>
public sealed class BenchFactAttribute : FactAttribute
{
    public BenchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("SEGCLUSTER_BENCH") != "1") Skip = "benchmark: set SEGCLUSTER_BENCH=1 to run";
    }
}
