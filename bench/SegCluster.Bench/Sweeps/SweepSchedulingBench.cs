using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Sweeps;

namespace SegCluster.Bench.Sweeps;

/// <summary>
/// `sweep-scheduling`: scale of the sweep coordinator. N trials with a no-op trainer (<see cref="NoOpTrialRunner"/>)
/// over W workers on one in-process silo with memory grain storage, the client polling the status as the CLI does:
/// wall time, scheduling overhead per trial (gap between a worker's trial ending and its next starting) and worker
/// idle fraction, per trial duration. Fails if a trial did not complete exactly once.
/// </summary>
public static class SweepSchedulingBench
{
    public static readonly string[] Options = ["--trials", "--workers", "--work-ms", "--poll-ms", "--out"];

    public static int Run(BenchArguments args)
    {
        int trials = args.Int("--trials", 1000), workers = args.Int("--workers", 16), pollMs = args.Int("--poll-ms", 250);
        var works = args.List("--work-ms", [0, 20], int.Parse);
        var output = args.Text("--out", Path.Combine("bench", "results", "sweep-scheduling.json"));
        if (trials < 1 || workers < 1 || pollMs < 1 || works.Any(w => w < 0))
            throw new ArgumentException("--trials, --workers and --poll-ms must be ≥ 1, --work-ms ≥ 0.");

        var runs = new List<object>();
        foreach (var work in works)
        {
            var run = MeasureAsync(trials, workers, TimeSpan.FromMilliseconds(work), pollMs).GetAwaiter().GetResult();
            Console.WriteLine($"trial work {work} ms: wall {run.WallSeconds:F2} s, {run.TrialsPerSecond:F0} trials/s, overhead per trial " +
                              $"mean/p50/p99 {run.SchedulingOverheadMsPerTrialMean:F0}/{run.SchedulingOverheadMsPerTrialP50:F0}/{run.SchedulingOverheadMsPerTrialP99:F0} ms, " +
                              $"idle {run.WorkerIdleFraction:F2}");
            runs.Add(run);
        }
        BenchJson.Write(output, new
        {
            benchmark = $"sweep scheduling: {trials} no-op trials over {workers} workers, one silo, memory grain storage, status polled every {pollMs} ms",
            machine = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
            measured_at = DateTime.UtcNow,
            runs,
        });
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static async Task<SweepSchedulingRun> MeasureAsync(int trials, int workers, TimeSpan work, int pollMs)
    {
        var runner = new NoOpTrialRunner(work);
        await using var cluster = await StartClusterAsync(runner);
        var sweep = new SweepSpec
        {
            Name = "bench", TrialSteps = 1, MaxConcurrentTrials = workers, WorkersPerTrial = 1,
            Base = new ExperimentSpec { Training = new TrainingSpec { BatchPerWorker = 1 }, Dataset = new DatasetSpec { TrainCount = 16 } },
            Axes = [new SweepAxis { Path = "seed", Kind = SweepAxis.Integer, Min = 0, Max = 1_000_000 }],
            Search = new SearchSpec { Kind = SearchSpec.Random, Samples = trials, Seed = 1 },
        };
        var grain = cluster.Client.GetGrain<ISweepGrain>($"bench-{work.TotalMilliseconds}");
        var clock = Stopwatch.StartNew();
        await grain.StartAsync(sweep, [.. Enumerable.Range(0, workers).Select(i => WorkerIds.For("bench", i))]);
        var started = clock.Elapsed;
        var status = await grain.GetStatusAsync();
        while (status.State is SweepState.Running or SweepState.Pending)
        {
            await Task.Delay(pollMs);
            status = await grain.GetStatusAsync();
        }
        var wall = clock.Elapsed;

        var ran = runner.Spans.Select(s => s.Index).Distinct().Count();
        if (status.Count(TrialState.Completed) != trials || ran != trials)
            throw new InvalidOperationException($"{status.Count(TrialState.Completed)} of {trials} trials completed ({ran} ran), sweep {status.State}: {status.Error}");
        return SweepSchedulingRun.From([.. runner.Spans], trials, workers, work, started, wall);
    }

    private static async Task<InProcessTestCluster> StartClusterAsync(ITrialRunner runner)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(ClusterStorage.Sweeps);
            silo.Services.AddSingleton(runner);  // before the grains' own services, which add the real runner only when none is given
            silo.Services.AddSegClusterGrainDependencies();
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
