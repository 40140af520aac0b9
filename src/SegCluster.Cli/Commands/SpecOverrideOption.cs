using System.CommandLine;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Cli.Commands;

/// <summary>The repeatable <c>--set PATH=VALUE</c> of `train` and `quickstart` (<see cref="SpecOverrides"/>).</summary>
public static class SpecOverrideOption
{
    public static Option<string[]> Create() => new("--set")
    {
        Description = $"Override a spec field, PATH=VALUE (repeat for several; applied after the other options): e.g. --set {SpecOverrides.Example} --set seed=3.",
        HelpName = "PATH=VALUE",
    };
}
