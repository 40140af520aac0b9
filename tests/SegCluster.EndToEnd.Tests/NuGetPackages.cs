namespace SegCluster.EndToEnd.Tests;

/// <summary>The folder restore put the packages in: NUGET_PACKAGES when it is set and not empty (NuGet takes an empty
/// one as unset), else ~/.nuget/packages.</summary>
internal static class NuGetPackages
{
    public static string Folder { get; } = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom
        ? custom
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
}
