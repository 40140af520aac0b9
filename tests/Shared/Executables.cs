namespace SegCluster.Tests.Shared;

/// <summary>Programs the tests run (redis-server, prometheus, promtool), found as a shell finds them: on PATH, where
/// `./build.sh test` checks for them and installs them when missing (apt puts them in /usr/bin, other package managers
/// elsewhere).</summary>
internal static class Executables
{
    /// <summary>The path of the first executable file named <paramref name="name"/> in a PATH folder, or null.</summary>
    public static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(path => File.Exists(path) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & Executable) != 0));

    private const UnixFileMode Executable = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
}
