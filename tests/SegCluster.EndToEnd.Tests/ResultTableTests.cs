using SegCluster.Cli.Output;
using Spectre.Console;

namespace SegCluster.EndToEnd.Tests;

public sealed class ResultTableTests
{
    [Theory]
    [InlineData(0, 1, "n/a (one step: the first is warm-up, not timed)")]
    [InlineData(4, 5, "n/a (one step")]
    [InlineData(0, 2, "12.5")]
    public void Images_per_second_is_shown_only_when_a_step_was_timed(int startStep, int steps, string expected)
    {
        // The same measured rate every time: whether it is shown must follow from the steps alone.
        var result = new QuickstartResult(0.5, 0.9, new Dictionary<string, double?> { ["road"] = 0.5 }, ImagesPerSecond: 12.5,
            steps, Workers: 2, BatchPerWorker: 2, "64x64", "spgnet", "cpu", ElapsedSeconds: 3) { StartStep = startStep };
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;

        ResultTable.Write(console, result);

        var row = output.ToString().Split('\n').Single(l => l.Contains("images/s"));
        Assert.Contains(expected, row);
    }
}
