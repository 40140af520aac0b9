using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using SegCluster.Abstractions.Specs;
using SegCluster.Cluster;
using SegCluster.Cluster.Grains;
using SegCluster.Cluster.Spectral;
using SegCluster.Vision.Spectral;
using static TorchSharp.torch;

namespace SegCluster.Bench.Spectral;

/// <summary>
/// `spectral-scale`: throughput of the distributed label analysis (images/s) against the number of nodes, one shard per
/// node, each node an in-process Orleans silo with the real shard grains, placement and memory storage; every run's
/// merged statistics are checked against the single-process analysis (counts exact). Torch runs one intra-op thread
/// per shard, so the nodes scale until the machine's cores are used (this machine: 2).
/// </summary>
public static class SpectralScaleBench
{
    public static readonly string[] Options = ["--nodes", "--images", "--size", "--classes", "--batch", "--repeats", "--processes", "--out"];

    public static int Run(BenchArguments args)
    {
        var nodes = args.List("--nodes", [1, 2, 3, 4], int.Parse);
        int images = args.Int("--images", 128), size = args.Int("--size", 128), classes = args.Int("--classes", 6);
        int batch = args.Int("--batch", 8), repeats = args.Int("--repeats", 2);
        // --processes 1: each node a `segcluster node` process joined through redis-server (as a real cluster), else in-process silos.
        var processes = args.Int("--processes", 0) == 1;
        string output = args.Text("--out", Path.Combine("bench", "results", processes ? "spectral-scale-processes.json" : "spectral-scale.json"));
        set_num_threads(1);
        var spec = new ExperimentSpec { Seed = 0, Dataset = new DatasetSpec { NumClasses = classes, Height = size, Width = size, TrainCount = images } };

        var clock = Stopwatch.StartNew();
        var reference = SingleProcess(spec, images, batch);
        double singleSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"single process: {images} images {size}x{size} in {singleSeconds:F2} s ({images / singleSeconds:F1} img/s)");

        var rows = new List<SpectralScaleRow>();
        foreach (var n in nodes)
        {
            var seconds = new List<double>();
            var problems = new List<string>();
            for (var repeat = 0; repeat < repeats; repeat++)
            {
                var (elapsed, merged, silos) = (processes ? RunOnProcessesAsync(spec, images, n, batch) : RunOnClusterAsync(spec, images, n, batch)).GetAwaiter().GetResult();
                seconds.Add(elapsed);
                problems.AddRange(merged.Differences(reference, 1e-6));
                if (silos != n) problems.Add($"{n} shards ran on {silos} silos");
            }
            var best = seconds.Min();
            var perSecond = images / best;
            rows.Add(new SpectralScaleRow(n, n, images, seconds, best, perSecond, perSecond / (rows.Count == 0 ? perSecond : rows[0].ImagesPerSecond),
                problems.Count == 0, problems.Distinct().ToList()));
            Console.WriteLine($"{n} node(s): best {best:F2} s, {perSecond:F1} img/s{(problems.Count == 0 ? "" : "  MISMATCH " + string.Join("; ", problems))}");
        }
        BenchJson.Write(output, new
        {
            benchmark = "spectral-scale",
            machine = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
            images, size, classes, batch, repeats, torch_threads_per_shard = 1, nodes_as = processes ? "segcluster node processes over redis-server" : "in-process silos",
            single_process = new { seconds = singleSeconds, images_per_second = images / singleSeconds },
            rows,
        });
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static SpectralStatistics SingleProcess(ExperimentSpec spec, int images, int batch) =>
        ShardSpectralAnalyser.Analyse(ShardSpectralAnalyser.Labels(spec), Enumerable.Range(0, images), batch);

    /// <returns>Seconds of the analysis (cluster start excluded), the merged statistics, and the silos that computed shards.</returns>
    private static async Task<(double Seconds, SpectralStatistics Merged, int Silos)> RunOnClusterAsync(ExperimentSpec spec, int images, int nodes, int batch)
    {
        var builder = new InProcessTestClusterBuilder((short)nodes);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(ClusterStorage.Spectral);
            silo.Services.AddSegClusterGrainDependencies();
        });
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var clock = Stopwatch.StartNew();
        // A fresh cluster per repeat: its shards have no record yet, so every repeat computes.
        var outcome = await new DistributedSpectralAnalysis(cluster.Client).RunAsync(spec, images, nodes, batch);
        var seconds = clock.Elapsed.TotalSeconds;
        return (seconds, outcome.Statistics, outcome.Shards.Select(s => s.ComputedBy).Distinct().Count());
    }

    /// <summary>As <see cref="RunOnClusterAsync"/> on `segcluster node` processes; a fresh cluster (and Redis) per repeat,
    /// so no shard answers from an earlier record.</summary>
    private static async Task<(double Seconds, SpectralStatistics Merged, int Silos)> RunOnProcessesAsync(ExperimentSpec spec, int images, int nodes, int batch)
    {
        await using var cluster = await NodeProcessCluster.StartAsync(nodes, TimeSpan.FromMinutes(3));
        var clock = Stopwatch.StartNew();
        var outcome = await new DistributedSpectralAnalysis(cluster.Client).RunAsync(spec, images, nodes, batch);
        var seconds = clock.Elapsed.TotalSeconds;
        return (seconds, outcome.Statistics, outcome.Shards.Select(s => s.ComputedBy).Distinct().Count());
    }

    /// <summary>One node count of the result file (snake_case JSON).</summary>
    private sealed record SpectralScaleRow(int Nodes, int Shards, int Images, IReadOnlyList<double> Seconds, double BestSeconds,
        double ImagesPerSecond, double SpeedupToOneNode, bool MatchesSingleProcess, IReadOnlyList<string> Differences);
}
