namespace SegCluster.EndToEnd.Tests;

/// <summary>Files of the repository the tests check (deploy/, helm/, docker-compose.yml), found from the test binaries upward.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SegCluster.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no SegCluster.sln above {AppContext.BaseDirectory}");
    }
}
