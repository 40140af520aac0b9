using System.Diagnostics;
using System.Text.Json;

namespace SegCluster.Bench.LabelGrid;

/// <summary>
/// `label-grid`: peak memory and step time of training at label grid factors f (PAPERS.md §2 "Efficient
/// grid"), each configuration in a fresh child process (<see cref="LabelGridRun"/>), with ratios to f = 1.
/// </summary>
public static class LabelGridBench
{
    public static readonly string[] Options = ["--models", "--factors", "--size", "--batch", "--steps", "--width", "--threads", "--out"];

    public static int Run(BenchArguments args)
    {
        var models = args.List("--models", ["spgnet", "encoder-decoder", "deeplabv3plus"], s => s);
        var factors = args.List("--factors", [1, 2, 4, 8], int.Parse);
        string[] shared = ["--size", args.Text("--size", "128"), "--batch", args.Text("--batch", "8"), "--steps", args.Text("--steps", "10"),
            "--width", args.Text("--width", "16"), "--threads", args.Text("--threads", "2")];
        string output = args.Text("--out", Path.Combine("bench", "results", "label-grid.json"));

        var rows = new List<object>();
        foreach (var model in models)
        {
            LabelGridMeasurement? reference = null;
            foreach (var factor in factors)
            {
                var m = RunChild(["label-grid-run", "--model", model, "--factor", factor.ToString(), .. shared]);
                reference ??= m;
                rows.Add(new
                {
                    measurement = m,
                    peak_training_ratio_to_first = (double)m.PeakTrainingBytes / reference.PeakTrainingBytes,
                    peak_rss_ratio_to_first = (double)m.PeakRssBytes / reference.PeakRssBytes,
                    step_time_ratio_to_first = m.StepSeconds / reference.StepSeconds,
                });
                Console.WriteLine($"{model,-16} f={factor,-2} peak +{m.PeakTrainingBytes / 1048576.0,8:F1} MiB (RSS {m.PeakRssBytes / 1048576.0,7:F1} MiB)  step {m.StepSeconds * 1000,7:F1} ms");
            }
        }
        BenchJson.Write(output, new
        {
            bench = "label-grid",
            what = "soft-CE training at label grid factor f, decoder stopping at the grid; one fresh process per row; ratios are to the first factor of the same model",
            memory = "peak_training_bytes = VmHWM at the end − VmRSS before the first step (CPU, glibc malloc, no caching allocator)",
            malloc_environment = MallocEnvironment.Select(e => $"{e.Name}={e.Value}").ToArray(),
            machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
            date = DateTime.UtcNow.ToString("u"),
            arguments = shared,
            rows,
        });
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    /// <summary>
    /// glibc settings of the child processes. A fixed mmap threshold (which also turns off glibc's dynamic
    /// raising of it) makes every buffer above 64 KiB (every activation here) its own mapping, returned to the
    /// kernel when freed; one arena avoids per-thread arenas holding freed memory. Resident memory then follows
    /// the live tensor bytes, so the high-water mark is the steps' peak rather than allocator leftovers.
    /// </summary>
    private static readonly (string Name, string Value)[] MallocEnvironment = [("MALLOC_MMAP_THRESHOLD_", "65536"), ("MALLOC_ARENA_MAX", "1")];

    private static LabelGridMeasurement RunChild(string[] arguments)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in MallocEnvironment) start.Environment[name] = value;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(LabelGridBench).Assembly.Location);
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var lines = child.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        child.WaitForExit();
        if (child.ExitCode != 0 || lines.Length == 0)
            throw new InvalidOperationException($"child '{string.Join(' ', arguments)}' exited {child.ExitCode}: {stderr.Result}");
        return JsonSerializer.Deserialize<LabelGridMeasurement>(lines[^1], BenchJson.Options)!;
    }
}
