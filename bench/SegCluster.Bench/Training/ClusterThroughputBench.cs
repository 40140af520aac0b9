using System.Diagnostics;
using SegCluster.Abstractions.Grains;
using SegCluster.Abstractions.Messages;
using SegCluster.Abstractions.Specs;
using SegCluster.Bench.Results;
using SegCluster.Cli.Embedded;
using Spectre.Console;

namespace SegCluster.Bench.Training;

/// <summary>
/// Issue 9: training throughput through the cluster. For each W an embedded node (the quickstart's in-process host:
/// scheduler, experiment and worker grains, collective service) with W CPU workers trains one fixed small spec; the
/// node's own step telemetry (<see cref="StepPhaseRecorder"/>) gives images/s after warm-up and each step's split into
/// data wait, forward/backward, all-reduce and optimizer. The workers reduce over the loopback TCP ring by default
/// (every rank joins it, as ranks on different nodes would), or in memory (`--reduction memory`, what one node of W
/// workers does by default). A fresh node per W; the final evaluation runs after the measured window.
/// </summary>
public static class ClusterThroughputBench
{
    public static readonly string[] Options = ["--workers", "--model", "--width", "--size", "--batch", "--steps", "--warmup", "--norm", "--reduction", "--wire", "--bucket-cap-mb", "--threads", "--repeats", "--out"];

    public static int Run(BenchArguments args)
    {
        var workers = args.List("--workers", [1, 2], int.Parse);
        string model = args.Text("--model", "spgnet"), norm = args.Text("--norm", "bn"), reduction = args.Text("--reduction", "ring");
        string? wire = args.Text("--wire", "") is { Length: > 0 } w ? w : null;
        double bucketCapMb = args.Double("--bucket-cap-mb", 25);
        int width = args.Int("--width", 16), size = args.Int("--size", 64), batch = args.Int("--batch", 4);
        int steps = args.Int("--steps", 40), warmup = args.Int("--warmup", 5), threads = args.Int("--threads", 1), repeats = args.Int("--repeats", 2);
        Require(workers.All(n => n >= 1), $"--workers: {string.Join(",", workers)}; every count must be at least 1.");
        Require(warmup >= 0 && steps > warmup + 1, $"--steps {steps} must exceed --warmup {warmup} + 1 (--warmup ≥ 0): the rate needs two measured steps.");
        Require(threads >= 0, $"--threads {threads}: use 0 (cores / workers) or more.");
        Require(repeats >= 1, $"--repeats {repeats}: use 1 or more.");
        Require(double.IsFinite(bucketCapMb) && bucketCapMb >= 0, $"--bucket-cap-mb {bucketCapMb}: use 0 (one all-reduce after backward) or more.");
        Require(reduction is "ring" or "memory", $"--reduction '{reduction}': use ring or memory.");
        Require(wire is null || reduction == "ring", "--wire needs --reduction ring (in memory there is no wire).");

        // Repeats run the whole list of W again, so load drifting over the run hits every W alike; efficiency divides by
        // the 1-worker row of the same repeat.
        var rows = new List<ClusterThroughputRow>();
        for (var repeat = 0; repeat < repeats; repeat++)
        {
            var round = new List<ClusterThroughputRow>();
            foreach (var count in workers)
            {
                var spec = Spec(count, model, width, size, batch, steps, norm, wire, bucketCapMb);
                var errors = spec.Validate();
                if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors));
                round.Add(Measure(spec, count == 1 ? "none" : reduction, threads, warmup).GetAwaiter().GetResult() with { Repeat = repeat + 1 });
            }
            var single = round.FirstOrDefault(r => r.Workers == 1)?.ImagesPerSecond;
            rows.AddRange(round.Select(r => r with { ScalingEfficiency = single is > 0 ? r.ImagesPerSecond / (r.Workers * single.Value) : null }));
        }

        Print(rows);
        var report = new
        {
            Spec = new { Model = model, Width = width, Size = size, BatchPerWorker = batch, Steps = steps, Warmup = warmup, Norm = norm, Reduction = reduction, Wire = wire, BucketCapMb = bucketCapMb, TorchThreads = threads, Repeats = repeats },
            Rows = rows,
        };
        var path = BenchResultFile.WriteAsync(args.Text("--out", "bench/results/cluster-throughput.json"), report).GetAwaiter().GetResult();
        AnsiConsole.MarkupLineInterpolated($"wrote {path}");
        return 0;
    }

    private static ExperimentSpec Spec(int workers, string model, int width, int size, int batch, int steps, string norm, string? wire, double bucketCapMb) => new()
    {
        Name = $"throughput-{workers}w",
        Workers = workers,
        Dataset = new DatasetSpec { Height = size, Width = size, TrainCount = Math.Max(64, workers * batch * 4), ValidationCount = 2 },
        Model = new ModelSpec { Name = model, Width = width, Norm = norm },
        Training = new TrainingSpec { Steps = steps, BatchPerWorker = batch, EvaluationBatch = 2, Wire = wire, BucketCapMb = bucketCapMb },
    };

    private static async Task<ClusterThroughputRow> Measure(ExperimentSpec spec, string reduction, int threads, int warmup)
    {
        using var recorder = new StepPhaseRecorder();
        var clock = Stopwatch.StartNew();
        // One torch thread per worker by default: W = 1 with 2 intra-op threads on the 2 loaded cores here ran at 2.0 img/s
        // against 21.6 with one (load average 27; threads wait on each other), which made W = 2 look superlinear.
        var settings = new Dictionary<string, string?> { ["Node:TorchThreads"] = $"{threads}" };
        if (reduction == "ring") foreach (var (key, value) in EmbeddedCluster.NetworkRing) settings[key] = value;
        await using var node = await EmbeddedCluster.StartAsync(spec.Workers, "cpu", httpPort: 0, CancellationToken.None, settings);
        var id = $"{spec.Name}-{Guid.NewGuid():N}";
        var experiment = node.Grains.GetGrain<IExperimentGrain>(id);
        await experiment.StartAsync(spec, node.WorkerIds);
        var status = await experiment.GetStatusAsync();
        await AnsiConsole.Progress().StartAsync(async progress =>
        {
            var task = progress.AddTask($"{spec.Workers} worker(s), {reduction}", maxValue: spec.TotalSteps);
            while (!status.State.IsFinal())
            {
                await Task.Delay(250);
                status = await experiment.GetStatusAsync();
                task.Value = status.Step;
            }
        });
        if (status.State != ExperimentState.Completed) throw new InvalidOperationException($"{spec.Workers} worker(s): {status.State}: {status.Error}");

        var perWorker = recorder.Steps(id);
        var measured = perWorker.Select(w => w.Skip(warmup).ToList()).ToList();
        if (measured.Count != spec.Workers || measured.Any(w => w.Count < 2))
            throw new InvalidOperationException($"{spec.Workers} worker(s): telemetry of {measured.Count} worker(s) with {string.Join(", ", measured.Select(w => w.Count))} steps after warm-up.");
        // Each worker's rate over the window from its last warm-up step to its last step; ranks step in lockstep.
        var imagesPerSecond = perWorker.Sum(w => (w.Count - warmup - 1) * spec.Training.BatchPerWorker / (w[^1].At - w[warmup].At));
        var all = measured.SelectMany(w => w).ToList();
        double Mean(Func<WorkerStep, double> phase) => all.Average(phase);
        double step = Mean(s => s.Step), allReduce = Mean(s => s.AllReduce);
        var bytes = (long)all.Average(s => s.AllReduceBytes);
        // The rank that reaches the all-reduce last waits for nobody: the minimum over ranks of a step's all-reduce time
        // is its transfer and sum; the rest of the others' time is waiting for that rank (load imbalance, 2 shared cores).
        var steps = measured.Min(w => w.Count);
        var lastArrival = Enumerable.Range(0, steps).Average(k => measured.Min(w => w[k].AllReduce));
        string wire = reduction == "ring" ? spec.Training.Wire ?? "fp32" : "none";
        return new ClusterThroughputRow(spec.Workers, reduction, wire, threads > 0 ? threads : Math.Max(1, Environment.ProcessorCount / spec.Workers), measured[0].Count,
            imagesPerSecond, null, step, Mean(s => s.DataWait), Mean(s => s.ForwardBackward), allReduce, Mean(s => s.Optimizer),
            Mean(s => s.ForwardBackward) / step, allReduce / step, Mean(s => s.Optimizer) / step,
            bytes, allReduce > 0 && bytes > 0 ? bytes / allReduce / 1e9 : null, clock.Elapsed.TotalSeconds)
        {
            AllReduceLastArrivalSeconds = lastArrival,
            AllReduceLastArrivalShare = lastArrival / step,
            AllReduceBusySeconds = Mean(s => s.AllReduceBusy),
            AllReduceHiddenShare = Mean(s => s.AllReduceBusy) is var busy && busy > 0 ? Math.Max(0, 1 - allReduce / busy) : 0,
        };
    }

    private static void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException(message);
    }

    private static void Print(IReadOnlyList<ClusterThroughputRow> rows)
    {
        var table = new Table().AddColumns("#", "W", "reduce", "img/s", "eff.", "step ms", "fwd+bwd", "allred", "(no wait)", "hidden", "optim", "data");
        foreach (var r in rows)
            table.AddRow($"{r.Repeat}", $"{r.Workers}", r.Reduction == "ring" ? $"ring {r.Wire}" : r.Reduction, $"{r.ImagesPerSecond:F1}", r.ScalingEfficiency is { } e ? $"{e:F2}" : "-",
                $"{r.StepSeconds * 1e3:F0}", $"{r.ForwardBackwardShare:P0}", $"{r.AllReduceShare:P0}", $"{r.AllReduceLastArrivalShare:P0}", $"{r.AllReduceHiddenShare:P0}", $"{r.OptimizerShare:P0}", $"{r.DataWaitSeconds / r.StepSeconds:P0}");
        AnsiConsole.Write(table);
    }
}
