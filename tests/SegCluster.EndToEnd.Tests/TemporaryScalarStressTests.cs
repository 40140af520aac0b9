namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Training while another thread loops <c>GC.Collect(); GC.WaitForPendingFinalizers()</c>: a TorchSharp Scalar made
/// from a bare number and unreachable while its native op still reads it is freed mid-call and the process dies
/// (docs/platform.md, KeptScalars). Each run is a child process (`segcluster-bench scalar-stress-run`), so the
/// collector disturbs no other test. Before every Scalar on these paths was held, scribble runs crashed 10 of 10 by
/// step 76 and soft-kl runs 8 of 10 by step 182 (bench/results/scalar-stress-*.json).
/// </summary>
public sealed class TemporaryScalarStressTests
{
    private static readonly string BenchDll = Path.Combine(AppContext.BaseDirectory, "segcluster-bench.dll");

    [Theory]
    [InlineData("scribble", 100)]  // the regulariser's kernels, scribble synthesis, partial CE
    [InlineData("soft-kl", 150)]   // soft label down-sampling and the KL loss
    public async Task Training_survives_collections_on_another_thread(string labelMode, int steps)
    {
        using var run = CliProcess.StartAt(BenchDll, new Dictionary<string, string?>(),
            "scalar-stress-run", "--label-mode", labelMode, "--steps", $"{steps}", "--seed", "0");
        var (exit, stdout, stderr) = await run.WaitAsync(TimeSpan.FromMinutes(4));

        var lastStep = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith("step ", StringComparison.Ordinal));
        Assert.True(exit == 0, $"exit {exit} after '{lastStep}':\n{stderr}");
        Assert.Equal($"step {steps}", lastStep?.TrimEnd());
    }
}
