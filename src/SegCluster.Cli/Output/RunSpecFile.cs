using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;

namespace SegCluster.Cli.Output;

/// <summary>
/// spec.yaml beside an embedded run's result.json: the spec the run trains, resolved (the command's options and --set
/// applied, a files dataset's counts filled in), written as <see cref="SpecFiles"/> writes specs (snake_case, every field;
/// JSON, which YAML reads). Two results of a comparison say which arm each was, and `segcluster train spec.yaml` runs
/// one again.
/// </summary>
public static class RunSpecFile
{
    public const string FileName = "spec.yaml";

    public static async Task<string> WriteAsync(DirectoryInfo folder, ExperimentSpec spec, CancellationToken cancellationToken)
    {
        folder.Create();
        var path = Path.Combine(folder.FullName, FileName);
        await OutputFolder.WriteAtomicallyAsync(path,
            $"# The spec this run trained, resolved (`segcluster train {FileName}` runs it again).\n{SpecFiles.ToDocument(spec)}\n", cancellationToken);
        return path;
    }
}
