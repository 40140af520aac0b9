using System.CommandLine;
using SegCluster.Bench;
using SegCluster.Bench.AllReduce;
using SegCluster.Bench.LabelGrid;
using SegCluster.Bench.Loopback;
using SegCluster.Bench.Results;
using SegCluster.Bench.Spectral;
using SegCluster.Bench.Training;
using SegCluster.Bench.Truncation;
using SegCluster.Collectives;
using SegCluster.Vision.Devices;
using Spectre.Console;

// segcluster-bench: measurements against their limits, results as JSON under bench/results/ (bench/README.md);
// tests never assert timings.
using var nativeWarnings = NativeWarningFilter.Install();
var root = new RootCommand("SegCluster benchmarks. Results are JSON under bench/results/.");

var ranks = new Option<string>("--ranks") { Description = "World sizes, comma-separated.", DefaultValueFactory = _ => "2,4" };
var sizesMb = new Option<string>("--sizes-mb") { Description = "Buffer sizes in MiB, comma-separated.", DefaultValueFactory = _ => "1,4,16,64,256" };
var iterations = new Option<int>("--iterations") { Description = "Timed calls per size (after one warm-up); the median is reported.", DefaultValueFactory = _ => 3 };
var inProcess = new Option<bool>("--in-process") { Description = "Also run the ring with all ranks in this process.", DefaultValueFactory = _ => true };
var output = new Option<string>("--out") { Description = "Result file.", DefaultValueFactory = _ => "bench/results/allreduce.json" };
var transports = new Option<string>("--transports") { Description = "Ring transports, comma-separated (tcp, grpc).", DefaultValueFactory = _ => "tcp,grpc" };
var wires = new Option<string>("--wires") { Description = "Wire formats, comma-separated (fp32, fp16; fp16 runs on tcp only).", DefaultValueFactory = _ => "fp32,fp16" };
var allReduce = new Command("allreduce", "Ring all-reduce (TCP data plane and gRPC) across processes on 127.0.0.1, next to the loopback TCP bound.")
{
    ranks, sizesMb, iterations, inProcess, transports, wires, output,
};
allReduce.SetAction(async parse =>
{
    var worlds = Csv(parse.GetValue(ranks)!).Select(int.Parse).ToArray();
    var sizes = Csv(parse.GetValue(sizesMb)!).Select(s => long.Parse(s) << 20).ToArray();
    var kinds = Csv(parse.GetValue(transports)!).Select(t => Enum.TryParse<RingTransport>(t, ignoreCase: true, out var kind) ? kind : (RingTransport?)null).ToArray();
    var formats = Csv(parse.GetValue(wires)!).Select(w => Enum.TryParse<WireFormat>(w, ignoreCase: true, out var format) ? format : (WireFormat?)null).ToArray();
    if (worlds.Any(w => w < 2) || sizes.Any(s => s <= 0) || parse.GetValue(iterations) < 1 || kinds.Any(k => k is null) || formats.Any(f => f is null))
    {
        Console.Error.WriteLine("error: --ranks must be ≥ 2, --sizes-mb positive, --iterations ≥ 1, --transports from: tcp, grpc, --wires from: fp32, fp16.");
        return 2;
    }
    var variants = kinds.SelectMany(k => formats.Where(f => f == WireFormat.Fp32 || k == RingTransport.Tcp).Select(f => (k!.Value, f!.Value))).ToArray();
    // The report is rewritten after each block of rows, so a run cut short by a timeout keeps what it finished.
    var report = await new AllReduceBenchmark(worlds, sizes, parse.GetValue(iterations), parse.GetValue(inProcess), variants)
        .RunAsync(partial => BenchResultFile.WriteAsync(parse.GetValue(output)!, partial));
    AnsiConsole.MarkupLine($"wrote {await BenchResultFile.WriteAsync(parse.GetValue(output)!, report)}");
    return 0;
});

var rank = new Option<int>("--rank");
var ports = new Option<string>("--ports");
var sizes = new Option<string>("--sizes");
var rankIterations = new Option<int>("--iterations");
var rankTransport = new Option<RingTransport>("--transport");
var rankWire = new Option<WireFormat>("--wire");
var allReduceRank = new Command("allreduce-rank", "(internal) one rank of the all-reduce benchmark.") { rank, ports, sizes, rankIterations, rankTransport, rankWire };
allReduceRank.Hidden = true;
allReduceRank.SetAction(parse => AllReduceBenchmark.RankAsync(parse.GetValue(rank), Csv(parse.GetValue(ports)!).Select(int.Parse).ToArray(),
    Csv(parse.GetValue(sizes)!).Select(long.Parse).ToArray(), parse.GetValue(rankIterations), parse.GetValue(rankTransport), parse.GetValue(rankWire)));

var sinkPort = new Option<int>("--port");
var sink = new Command("loopback-sink", "(internal) drains TCP connections for the loopback bound.") { sinkPort };
sink.Hidden = true;
sink.SetAction(parse => LoopbackTcp.SinkAsync(parse.GetValue(sinkPort)));

root.Subcommands.Add(allReduce);
root.Subcommands.Add(allReduceRank);
root.Subcommands.Add(sink);

// Label-grid memory and decoder-truncation benches parse their own --option value pairs (BenchArguments).
foreach (var (name, description, options, run) in new (string, string, string[], Func<BenchArguments, int>)[]
{
    ("label-grid", "Peak memory and step time per label grid factor (one child process each).", LabelGridBench.Options, LabelGridBench.Run),
    ("label-grid-run", "(internal) one label-grid measurement.", LabelGridRun.Options, LabelGridRun.Run),
    ("label-grid-macs", "MACs per label grid factor (the compute figure of label-grid).", LabelGridMacs.Options, LabelGridMacs.Run),
    ("label-fractions", "Soft-label cell fractions: scatter-add counts vs the full-resolution one-hot they replaced (time, difference, transient bytes).", LabelFractionsBench.Options, LabelFractionsBench.Run),
    ("decoder-truncation", "Decoder MACs against mIoU per truncation ratio.", DecoderTruncationBench.Options, DecoderTruncationBench.Run),
    ("training-overhead", "The trainer's step vs a bare TorchSharp loop (same model, data, seed), then resident memory over many steps.", TrainingOverheadBench.Options, TrainingOverheadBench.Run),
    ("amp", "Training images/s and peak memory per precision × memory format (SPGNet, DeepLabV3+).", SegCluster.Bench.Amp.AmpBench.Options, SegCluster.Bench.Amp.AmpBench.Run),
    ("amp-miou", "Validation mIoU per precision at the same budget, paired by seed (synthetic dataset, one CPU worker).", SegCluster.Bench.Amp.AmpMiouBench.Options, SegCluster.Bench.Amp.AmpMiouBench.Run),
    ("gradient-match", "W ranks on one device through the TCP ring vs one rank with the W-times batch: gradients and parameters (issue 10).", GradientMatchBench.Options, GradientMatchBench.Run),
    ("cluster-throughput", "Training images/s and the step's phase split through an embedded node of W workers (loopback ring or in memory).", ClusterThroughputBench.Options, ClusterThroughputBench.Run),
    ("scalar-stress", "Crashes of training with garbage collections looping beside it (TorchSharp's temporary Scalars), one process per seed.", SegCluster.Bench.Stress.ScalarStressBench.Options, SegCluster.Bench.Stress.ScalarStressBench.Run),
    ("scalar-stress-run", "(internal) one scalar-stress run.", SegCluster.Bench.Stress.ScalarStressRun.Options, SegCluster.Bench.Stress.ScalarStressRun.Run),
    ("sweep-scheduling", "Sweep coordinator scale: N no-op trials over W workers on one in-process silo (wall time, gap per trial, idle workers).", SegCluster.Bench.Sweeps.SweepSchedulingBench.Options, SegCluster.Bench.Sweeps.SweepSchedulingBench.Run),
    ("data-loading", "Data wait against step time: folder PNG dataset through cache, augmentation and prefetch into SPGNet training (one CPU rank).", SegCluster.Bench.DataLoading.DataLoadingBench.Options, SegCluster.Bench.DataLoading.DataLoadingBench.Run),
    ("spectral-scale", "Distributed label analysis throughput against nodes (in-process silos, or node processes with --processes 1).", SpectralScaleBench.Options, SpectralScaleBench.Run),
})
{
    var command = new Command(name, description) { TreatUnmatchedTokensAsErrors = false, Hidden = name.EndsWith("-run", StringComparison.Ordinal) };
    command.SetAction(parse =>
    {
        try
        {
            return run(new BenchArguments(parse.UnmatchedTokens.ToArray(), options));
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    });
    root.Subcommands.Add(command);
}
return await root.Parse(args).InvokeAsync();

static string[] Csv(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
