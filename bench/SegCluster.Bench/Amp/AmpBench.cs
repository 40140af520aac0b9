using System.Diagnostics;
using SegCluster.Vision.Data;
using SegCluster.Vision.Devices;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Bench.Amp;

/// <summary>
/// `amp`: training images/s and peak memory per precision × memory format for SPGNet and DeepLabV3+ (ResNet-50 by
/// default) at a given size and batch, one trainer per configuration, on cpu or cuda:N. bench/pytorch/amp_reference.py
/// measures PyTorch autocast on the same networks and batch, to be run in the same session (bench/README.md). Each row
/// records the model's trainable parameter count, which bench/gpu/summary.py checks against the reference's. On CUDA the
/// peak is NVML's device-used memory and TorchSharp cannot empty the caching allocator, so a row's peak includes the
/// cache left by earlier rows of the same process: bench/gpu/session.sh runs one process per configuration.
/// </summary>
public static class AmpBench
{
    public static readonly string[] Options = ["--models", "--backbone", "--precisions", "--formats", "--device", "--height", "--width", "--batch", "--steps", "--warmup", "--out"];

    public static int Run(BenchArguments args)
    {
        var models = args.List("--models", ["spgnet", "deeplabv3plus"], s => s);
        var backbone = args.Text("--backbone", "resnet50");
        var precisions = args.List<PrecisionMode>("--precisions", [PrecisionMode.Fp32, PrecisionMode.Bf16Mixed], Precision);
        var formats = args.List<MemoryFormat>("--formats", [MemoryFormat.Contiguous, MemoryFormat.ChannelsLast], Format);
        var deviceName = args.Text("--device", "cpu");
        int height = args.Int("--height", 512), width = args.Int("--width", 1024), batch = args.Int("--batch", 8);
        int steps = args.Int("--steps", 20), warmup = args.Int("--warmup", 5);
        string output = args.Text("--out", Path.Combine("bench", "results", $"amp-{deviceName.Replace(':', '-')}.json"));
        var device = DeviceParser.Parse(deviceName);

        var scenes = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 19, Height: height, Width: width, Count: batch, Seed: 1));
        using var images = SegmentationBatch.Collate(Enumerable.Range(0, batch).Select(scenes.Get).ToList(), device);
        var rows = new List<object>();
        foreach (var name in models)
            foreach (var precision in precisions)
                foreach (var format in formats)
                {
                    var (perSecond, peak, parameters) = Measure(name, backbone, new PrecisionOptions(precision, format), device, images, steps, warmup);
                    rows.Add(new { model = name, backbone, precision = PrecisionOptions.Name(precision), memory_format = PrecisionOptions.Name(format), parameters, images_per_second = perSecond, peak_memory_bytes = peak });
                    Console.WriteLine($"{name,-14} {PrecisionOptions.Name(precision),-11} {PrecisionOptions.Name(format),-14} {perSecond,8:F2} img/s  peak {peak / 1048576.0,9:F1} MiB  params {parameters:N0}");
                }
        BenchJson.Write(output, new
        {
            bench = "amp",
            what = "training step (forward, loss, backward, SGD update) on one worker; images/s over the timed steps after warm-up",
            memory = device.type == TorchSharp.DeviceType.CUDA
                ? "peak_memory_bytes = highest NVML used memory of the GPU sampled after each step (whole device, caching allocator included)"
                : "peak_memory_bytes = process VmHWM (CPU; grows monotonically across rows, so compare the first rows only)",
            device = deviceName,
            height, width, batch, steps, warmup,
            // TorchSharp 0.107 cannot set cudnn.benchmark: libtorch's default (off) applies; amp_reference.py's --cudnn-benchmark 0 matches it
            cudnn_benchmark = false,
            machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
            date = DateTime.UtcNow.ToString("u"),
            rows,
        });
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static (double ImagesPerSecond, long PeakBytes, long Parameters) Measure(string name, string backbone, PrecisionOptions precision, Device device,
        SegmentationBatch batch, int steps, int warmup)
    {
        random.manual_seed(1);
        using var model = ModelRegistry.Create(new ModelOptions(name, 19, 64, NormKind.BatchNorm, backbone));
        model.to(device);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()),
            new OptimizerOptions(LearningRate: 0.01, Momentum: 0.9), new SingleRankReducer(), precision);
        long peak = 0;
        int index = device.index < 0 ? 0 : device.index;
        void Sample() => peak = Math.Max(peak, device.type == TorchSharp.DeviceType.CUDA
            ? NvmlDeviceMemory.Read().FirstOrDefault(d => d.Device == $"cuda:{index}")?.UsedBytes ?? 0
            : ProcessMemory.PeakResidentBytes());
        for (int i = 0; i < warmup; i++) { trainer.Step(batch); Sample(); }
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) { trainer.Step(batch); Sample(); }  // Step reads the loss back: the device is synchronised
        return (steps * batch.Count / clock.Elapsed.TotalSeconds, peak, model.ParameterCount);
    }

    internal static PrecisionMode Precision(string name) => name switch
    {
        "fp32" => PrecisionMode.Fp32,
        "bf16-mixed" => PrecisionMode.Bf16Mixed,
        "fp16-mixed" => PrecisionMode.Fp16Mixed,
        _ => throw new ArgumentException($"--precisions: '{name}' is unknown; use fp32, bf16-mixed, fp16-mixed."),
    };

    private static MemoryFormat Format(string name) => name switch
    {
        "contiguous" => MemoryFormat.Contiguous,
        "channels_last" => MemoryFormat.ChannelsLast,
        _ => throw new ArgumentException($"--formats: '{name}' is unknown; use contiguous, channels_last."),
    };
}
