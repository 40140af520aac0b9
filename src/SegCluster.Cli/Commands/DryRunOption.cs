using System.CommandLine;

namespace SegCluster.Cli.Commands;

/// <summary>`--dry-run` of the commands that start a run from a spec (train, sweep, spectral-sweep), as mmsegmentation
/// users check a config and Ray users a search space before a run: every check the real run makes before it starts
/// anything, then what would run, exit 0; exit 2 on the first problem, as the run would.</summary>
public static class DryRunOption
{
    public static Option<bool> Create(string checks) => new("--dry-run")
    {
        Description = $"Check everything a run checks before it starts ({checks}), print what would run and exit without starting a cluster.",
    };

    /// <summary>The last line of a dry run that passed.</summary>
    public static int Passed(string what)
    {
        Console.WriteLine($"dry run: {what}; nothing was started (run it without --dry-run)");
        return 0;
    }
}
