using System.Globalization;
using Spectre.Console;

namespace SegCluster.Cli.Output;

/// <summary>
/// Spectre lays output out for 80 columns when stdout is not a terminal, so a run logged to a file or a CI job had its
/// summary lines broken mid-phrase. Redirected output gets <c>COLUMNS</c> when set (as rich and most CLIs honour it),
/// else <see cref="Default"/>: wider than any line or table the CLI writes, so log lines stay whole and greppable
/// (nothing here pads to the full width: tables size to their content).
/// </summary>
public static class RedirectedConsoleWidth
{
    public const int Default = 1000;

    public static void Apply(IAnsiConsole console)
    {
        if (Console.IsOutputRedirected) console.Profile.Width = For(Environment.GetEnvironmentVariable("COLUMNS"));
    }

    /// <summary>The width for redirected output given the value of COLUMNS (unset, or not a sensible width: <see cref="Default"/>).</summary>
    public static int For(string? columns) =>
        int.TryParse(columns, NumberStyles.None, CultureInfo.InvariantCulture, out var width) && width is >= 40 and <= 10_000 ? width : Default;
}
