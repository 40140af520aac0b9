using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using SegCluster.Cli.Commands;
using SegCluster.Cli.Output;
using SegCluster.Vision.Devices;

// For the whole process, whichever command runs torch (quickstart, model info, spectral).
using var nativeWarnings = NativeWarningFilter.Install();
RedirectedConsoleWidth.Apply(Spectre.Console.AnsiConsole.Console);
var parse = SegClusterCommandLine.Create().Parse(args);
// Usage errors of every command the one way (`--help` among them shows the help instead: it clears them).
if (parse.Action is ParseErrorAction) return SegClusterCommandLine.ReportUsageErrors(parse, Console.Error);
// Before any command touches torch: an external-libtorch build loads it from the chosen folder. `segcluster node` chooses
// once its configuration is merged (Node:LibTorch, as the SegCluster.Node host reads it).
if (parse.Action is not HelpAction && parse.CommandResult.Command.Name != NodeCommand.Name
    && SegClusterCommandLine.SelectLibTorch(parse.GetValue(SegClusterCommandLine.LibTorch)) is { } exit)
    return exit;
// Ctrl+C / SIGTERM cancel the command's token; it then has this long to clean up (a sweep cancels its trials and writes
// its report, a node leaves the cluster) before the process exits anyway. System.CommandLine's default is 2 s.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
