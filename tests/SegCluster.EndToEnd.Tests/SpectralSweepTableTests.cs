using SegCluster.Cli.Spectral;
using Spectre.Console;

namespace SegCluster.EndToEnd.Tests;

/// <summary>The spectral sweep's table shows a CE gap as `spectral` does: a tiny negative gap printed "-+0.000" (a
/// two-section format gives a negative value that rounds to zero the positive section, after a minus sign).</summary>
public sealed class SpectralSweepTableTests
{
    [Theory]
    [InlineData(-0.00001, "0.0000")]
    [InlineData(0.00001, "0.0000")]
    [InlineData(-0.0123, "-0.0123")]
    [InlineData(0.0123, "+0.0123")]
    public void The_ce_gap_is_signed_as_the_analysis_table_signs_it(double gap, string shown)
    {
        var row = new SpectralSweepRow("t000", 2, "soft-ce", 1, "Completed", 0.99, 0.97, gap, Recommended: true,
            TrainedMIoU: 0.5, ImagesPerSecond: 10, ConvActivationMiB: 1, GigaMacsPerImage: 0.1, Reason: null);
        var report = new SpectralSweepReport("s", "synthetic", 8, 1, 2, null, [], [row]);
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 250;

        console.Write(SpectralSweepTable.Create(report));

        var line = output.ToString().Split('\n').Single(l => l.Contains("soft-ce"));
        Assert.DoesNotContain("-+", line);
        Assert.Contains($" {shown} ", line);
    }
}
