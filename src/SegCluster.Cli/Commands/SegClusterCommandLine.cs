using System.CommandLine;
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
