using SegCluster.Bench;
using SegCluster.Bench.LabelGrid;
using SegCluster.Bench.Truncation;
using SegCluster.Vision.Devices;

// Benchmarks write JSON under bench/results (see bench/README.md); tests never assert timings.
using var nativeWarnings = NativeWarningFilter.Install();
var commands = new Dictionary<string, (string[] Options, Func<BenchArguments, int> Run)>(StringComparer.Ordinal)
{
    ["label-grid"] = (LabelGridBench.Options, LabelGridBench.Run),
    ["label-grid-run"] = (LabelGridRun.Options, LabelGridRun.Run),
    ["label-grid-macs"] = (LabelGridMacs.Options, LabelGridMacs.Run),
    ["decoder-truncation"] = (DecoderTruncationBench.Options, DecoderTruncationBench.Run),
};
if (args.Length == 0 || !commands.TryGetValue(args[0], out var command))
{
    Console.Error.WriteLine($"usage: segcluster-bench <{string.Join("|", commands.Keys)}> [--option value ...]");
    return 2;
}
try
{
    return command.Run(new BenchArguments(args[1..], command.Options));
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
