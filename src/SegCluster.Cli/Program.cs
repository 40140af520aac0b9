using System.CommandLine;
using System.CommandLine.Help;
using SegCluster.Cli.Commands;
using SegCluster.Cli.Output;
using SegCluster.Vision.Devices;

// For the whole process, whichever command runs torch (quickstart, model info, spectral).
using var nativeWarnings = NativeWarningFilter.Install();
RedirectedConsoleWidth.Apply(Spectre.Console.AnsiConsole.Console);
var parse = SegClusterCommandLine.Create().Parse(args);
if (parse.Errors.Count == 0 && parse.Action is not HelpAction)
{
    try
    {
        // Before any command touches torch: an external-libtorch build loads it from the chosen folder.
        if (ExternalLibTorch.Select(parse.GetValue(SegClusterCommandLine.LibTorch)) is { } folder)
            Console.Error.WriteLine($"libtorch: {folder}");
    }
    catch (LibTorchLoadException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
}
// Ctrl+C / SIGTERM cancel the command's token; it then has this long to clean up (a sweep cancels its trials and writes
// its report, a node leaves the cluster) before the process exits anyway. System.CommandLine's default is 2 s.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
