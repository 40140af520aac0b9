using System.CommandLine;
using System.CommandLine.Parsing;
using SegCluster.Abstractions.Specs;
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
        var command = parse.CommandResult.Command;
        var unmatched = parse.UnmatchedTokens;
        foreach (var message in parse.Errors.Select(e => e.Message).Distinct())
        {
            // `segcluster trian x.yaml` was told no command was given before being told 'trian' is not one.
            if (unmatched.Count > 0 && message == MissingCommand) continue;
            error.WriteLine($"error: {WithSuggestion(message, command, unmatched)}");
        }
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

    /// <summary>System.CommandLine's error for a group given no command, in its own words (as its resources localise it).</summary>
    private static readonly string MissingCommand = new RootCommand { new Command("x") }.Parse([]).Errors[0].Message;

    /// <summary><paramref name="message"/>, about a token of <paramref name="unmatched"/> the user likely mistyped, with
    /// " (did you mean '--batch-size'?)": PyTorch and mmsegmentation scripts spell options with underscores (--batch_size),
    /// and a typo of a command (trian) or an option otherwise gets no more than the list of them.</summary>
    private static string WithSuggestion(string message, Command command, IReadOnlyList<string> unmatched)
    {
        foreach (var token in unmatched)
        {
            if (!message.Contains($"'{token}'", StringComparison.Ordinal)) continue;
            var option = token.StartsWith('-');
            var names = option
                ? command.Options.Concat(RootOptions).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal))
                : command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name);
            var snake = names.Distinct().ToDictionary(n => n.TrimStart('-').Replace('-', '_'), n => n);
            var given = token.TrimStart('-').Replace('-', '_').ToLowerInvariant();
            var meant = snake.ContainsKey(given) ? given : FieldSuggestion.For(given, snake.Keys);
            if (meant is not null) return $"{message.TrimEnd('.')} (did you mean '{snake[meant]}'?).";
        }
        return message;
    }

    /// <summary>The options every command takes (the recursive ones of the root: --libtorch).</summary>
    private static readonly Option[] RootOptions = [LibTorch];

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
