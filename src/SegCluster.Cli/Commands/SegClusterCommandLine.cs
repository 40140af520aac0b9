using System.CommandLine;
using System.CommandLine.Parsing;
using SegCluster.Vision.Devices;

namespace SegCluster.Cli.Commands;

/// <summary>The `segcluster` command tree.</summary>
public static class SegClusterCommandLine
{
    /// <summary>Every command: where an external-libtorch build finds libtorch (issue 10, PLATFORM.md "GPU").</summary>
    public static readonly Option<string?> LibTorch = new("--libtorch")
    {
        Description = $"Folder with libtorch.so (a PyTorch install's torch/lib, or a libtorch distribution) for builds made with " +
                      $"-p:TorchBackend=external; default: ${ExternalLibTorch.EnvironmentVariable}.",
        Recursive = true,
    };

    /// <summary>Applies the libtorch choice (<see cref="ExternalLibTorch.Select"/>) before any command touches torch: names the
    /// folder an external-libtorch build loaded, or the problem.</summary>
    /// <returns>Null when torch may be used; else the exit code (2).</returns>
    public static int? SelectLibTorch(string? folder)
    {
        try
        {
            if (ExternalLibTorch.Select(folder) is { } loaded)
                Console.Error.WriteLine($"libtorch: {loaded}");
            return null;
        }
        catch (LibTorchLoadException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>The exit code of every usage error: one an option's validator finds while parsing and one a command finds
    /// after (a spec field, a file), as docs/training.md and docs/datasets.md say.</summary>
    public const int UsageErrorExit = 2;

    /// <summary>
    /// Reports the errors System.CommandLine found on the command line (an unknown option, a value a validator refused, a
    /// missing argument) as the commands report theirs: one "error:" line each and a one-line hint, on stderr. Its own
    /// ParseErrorAction printed the command's whole help after them and exited 1, while the same kind of error found
    /// after parsing exited 2 in one line.
    /// </summary>
    /// <returns><see cref="UsageErrorExit"/>.</returns>
    public static int ReportUsageErrors(ParseResult parse, TextWriter error)
    {
        foreach (var message in parse.Errors.Select(e => e.Message).Distinct())
            error.WriteLine($"error: {message}");
        var command = parse.CommandResult.Command;
        var path = string.Join(' ', Ancestry(parse.CommandResult).Reverse().Skip(1).Prepend("segcluster"));
        // A group (`segcluster`, `segcluster model`) runs nothing itself: its commands are what the user was looking for.
        var commands = command.Action is null && command.Subcommands.Count > 0
            ? $"commands: {string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}; "
            : "";
        error.WriteLine($"{commands}see `{path} --help`");
        return UsageErrorExit;

        static IEnumerable<string> Ancestry(CommandResult? result)
        {
            for (; result is not null; result = result.Parent as CommandResult) yield return result.Command.Name;
        }
    }

    public static RootCommand Create() => new("SegCluster: distributed semantic-segmentation training on Orleans and TorchSharp.")
    {
        Options = { LibTorch },
        Subcommands =
        {
            QuickstartCommand.Create(),
            SpectralCommand.Create(),
            SpectralSweepCommand.Create(),
            ModelCommand.Create(),
            DatasetCommand.Create(),
            SweepCommand.Create(),
            ResultsCommand.Create(),
            NodeCommand.Create(),
            TrainCommand.Create(),
            StatusCommand.Create(),
            CancelCommand.Create(),
            EvalCommand.Create(),
            PredictCommand.Create(),
        },
    };
}
