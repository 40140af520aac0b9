using SegCluster.Abstractions.Sweeps;
using SegCluster.Cli.Sweeps;
using Spectre.Console;

namespace SegCluster.EndToEnd.Tests;

public sealed class SweepLiveViewTests
{
    /// <summary>A cancelled sweep showed "cancelled: 10/10 finished" and then "4 trials did not finish": cancelled trials
    /// are run again by a resume, so they are not finished.</summary>
    [Fact]
    public void Cancelled_trials_are_not_counted_as_finished()
    {
        TrialState[] states = [.. Enumerable.Repeat(TrialState.Completed, 5), TrialState.Failed, .. Enumerable.Repeat(TrialState.Cancelled, 4)];
        var status = new SweepStatus("s", SweepState.Cancelled, new SweepSpec { Name = "s" },
            states.Select((state, i) => new TrialResult { Index = i, Name = $"s-t{i:D3}", State = state }).ToList());
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;

        console.Write(SweepLiveView.Render(status));

        var counts = output.ToString().Split('\n')[0];
        Assert.Contains("s cancelled: 6/10 finished", counts);
        Assert.EndsWith("pending 0 · cancelled 4", counts.TrimEnd());
    }
}
