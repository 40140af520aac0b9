using System.Diagnostics;

namespace SegCluster.Bench.Stress;

/// <summary>
/// `scalar-stress`: how often training crashes when garbage collections run continuously beside it (TorchSharp's
/// temporary Scalars, docs/platform.md). Runs <see cref="ScalarStressRun"/> in one fresh process per seed
/// and counts the runs that died, with the step each reached.
/// </summary>
public static class ScalarStressBench
{
    public static readonly string[] Options = ["--runs", "--model", "--label-mode", "--size", "--batch", "--width", "--steps", "--out"];

    public static int Run(BenchArguments args)
    {
        int runs = args.Int("--runs", 10);
        string[] shared = ["--model", args.Text("--model", "spgnet"), "--label-mode", args.Text("--label-mode", "full"), "--size", args.Text("--size", "32"),
            "--batch", args.Text("--batch", "2"), "--width", args.Text("--width", "8"), "--steps", args.Text("--steps", "200")];
        string output = args.Text("--out", Path.Combine("bench", "results", "scalar-stress.json"));
        if (runs < 1) throw new ArgumentException("--runs must be ≥ 1.");

        var rows = new List<ScalarStressRow>();
        for (int seed = 0; seed < runs; seed++)
        {
            var row = RunChild(seed, shared);
            rows.Add(row);
            Console.WriteLine($"seed {seed,3}: {(row.Crashed ? $"CRASHED at step {row.LastStep + 1} (exit {row.ExitCode}): {row.Error}" : $"ok, {row.LastStep} steps")} ({row.Seconds:F1} s)");
        }
        int crashed = rows.Count(r => r.Crashed);
        BenchJson.Write(output, new
        {
            bench = "scalar-stress",
            what = "training steps of a tiny model while another thread loops GC.Collect + WaitForPendingFinalizers; one fresh process per seed; a crash is a non-zero exit",
            commit = Environment.GetEnvironmentVariable("SEGCLUSTER_COMMIT"),
            machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
            date = DateTime.UtcNow.ToString("u"),
            arguments = shared,
            runs,
            crashed,
            steps_to_crash = rows.Where(r => r.Crashed).Select(r => r.LastStep + 1).ToArray(),
            rows,
        });
        Console.WriteLine($"{crashed} of {runs} runs crashed; wrote {output}");
        return 0;
    }

    private static ScalarStressRow RunChild(int seed, string[] shared)
    {
        var clock = Stopwatch.StartNew();
        using var child = SelfProcess.Start(["scalar-stress-run", "--seed", seed.ToString(), .. shared]);
        var stderr = child.StandardError.ReadToEndAsync();
        int lastStep = 0;
        while (child.StandardOutput.ReadLine() is { } line)
            if (line.StartsWith("step ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(5), out var step)) lastStep = step;
        child.WaitForExit();
        return new ScalarStressRow(seed, child.ExitCode != 0, child.ExitCode, lastStep, clock.Elapsed.TotalSeconds,
            child.ExitCode != 0 ? FirstError(stderr.Result) : null);
    }

    /// <summary>The first error line (not one of libtorch's warnings) and the innermost SegCluster frame under it: where it died.</summary>
    private static string? FirstError(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var message = lines.FirstOrDefault(l => !l.StartsWith("at ", StringComparison.Ordinal) && !l.StartsWith("[W", StringComparison.Ordinal));
        var frame = lines.FirstOrDefault(l => l.StartsWith("at SegCluster.", StringComparison.Ordinal));
        return frame is null ? message : $"{message} {frame}";
    }
}
