using System.CommandLine;

namespace SegCluster.Cli.Commands;

/// <summary>The --checkpoint option of `eval` and `predict`.</summary>
public static class CheckpointOption
{
    public static Option<FileInfo> Create() =>
        new("--checkpoint") { Description = "Checkpoint written by training (it records its model spec and class names).", Required = true };
}
