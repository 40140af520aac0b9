using SegCluster.Vision.Models;

namespace SegCluster.Bench.LabelGrid;

/// <summary>
/// `label-grid-macs`: the compute of the network built for label grid factor f (ModelProfiler MACs of one
/// image, convolutions and linears), a load-independent counterpart of the step times of <see cref="LabelGridBench"/>.
/// </summary>
public static class LabelGridMacs
{
    public static readonly string[] Options = ["--models", "--factors", "--size", "--width", "--out"];

    public static int Run(BenchArguments args)
    {
        var models = args.List("--models", ["spgnet", "encoder-decoder", "deeplabv3plus"], s => s);
        var factors = args.List("--factors", [1, 2, 4, 8], int.Parse);
        int size = args.Int("--size", 128), width = args.Int("--width", 16);
        string output = args.Text("--out", Path.Combine("bench", "results", "label-grid-macs.json"));
        var rows = new List<object>();
        foreach (var name in models)
        {
            double? reference = null;
            foreach (var factor in factors)
            {
                using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: 6, Width: width, LogitFactor: factor));
                double macs = ModelProfiler.Profile(model, size, size, model.OutputStride, maxProbeDivisor: 1).Macs;
                reference ??= macs;
                rows.Add(new { model = name, factor, macs, macs_ratio_to_first = macs / reference.Value, parameters = model.ParameterCount });
                Console.WriteLine($"{name,-16} f={factor,-2} {macs / 1e6,8:F1} MMACs ({macs / reference.Value:P1})");
            }
        }
        BenchJson.Write(output, new { bench = "label-grid-macs", what = "MACs per image of the network built for label factor f (its decoder stops at the grid)", size, width, rows });
        return 0;
    }
}
