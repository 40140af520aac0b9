namespace SegCluster.Tests.Shared;

/// <summary>A new folder under the system's temp folder, deleted with its contents on dispose (`using var dir = new TempDirectory("x-")`).</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix) => Info = Directory.CreateTempSubdirectory(prefix);

    public DirectoryInfo Info { get; }

    public string FullName => Info.FullName;

    public void Dispose()
    {
        try
        {
            Info.Delete(recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // the test removed it itself
        }
    }
}
