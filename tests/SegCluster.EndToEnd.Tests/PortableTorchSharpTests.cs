using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// build/TorchSharpGlibcxxFix.targets marks libLibTorchSharp.so's GLIBCXX_3.4.32 need weak only when the build
/// machine's libstdc++ lacks that version. A package built on a newer distro (GCC 13+, e.g. the .NET 10 SDK image) and
/// run on an Ubuntu 22.04 / Debian 12 GPU host would then fail to load torch there, so the packaging builds
/// (deploy/gpu/publish.sh, deploy/docker/Dockerfile) pass -p:SegClusterPortableTorchSharp=true, which patches always.
/// </summary>
public sealed partial class PortableTorchSharpTests : IDisposable
{
    private const string Property = "-p:SegClusterPortableTorchSharp=true";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("segcluster-portable-torchsharp-");

    [Theory]
    [InlineData("deploy/gpu/publish.sh")]
    [InlineData("deploy/docker/Dockerfile")]
    public void Packaging_builds_publish_a_portable_torchsharp(string file)
    {
        // The `dotnet publish` command with its continuation lines.
        var publish = PublishCommand().Match(File.ReadAllText(RepoPaths.Of(file.Split('/'))));
        Assert.True(publish.Success, $"{file}: no dotnet publish");
        Assert.Contains(Property, publish.Value);
    }

    [LinuxFact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]  // what the attribute runs it on
    public void The_property_weakens_glibcxx_even_where_the_build_machines_libstdcxx_has_it()
    {
        var original = NuGetLibTorchSharp();
        // A build machine with GCC 13+: its libstdc++ provides the version.
        var libstdcxx = Path.Combine(_dir.FullName, "libstdc++.so.6");
        File.WriteAllText(libstdcxx, "GLIBCPP\0GLIBCXX_3.4.31\0GLIBCXX_3.4.32\0GLIBCXX_3.4.33\0");
        var output = Path.Combine(_dir.FullName, "out");
        Directory.CreateDirectory(output);
        var copy = Path.Combine(output, "libLibTorchSharp.so");
        File.Copy(original, copy);
        File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var project = Path.Combine(_dir.FullName, "build.proj");
        File.WriteAllText(project, $"""
            <Project>
              <PropertyGroup>
                <OutDir>{output}/</OutDir>
                <SegClusterSystemLibStdCxx>{libstdcxx}</SegClusterSystemLibStdCxx>
              </PropertyGroup>
              <Import Project="{RepoPaths.Of("build", "TorchSharpGlibcxxFix.targets")}" />
              <Target Name="Build" />
            </Project>
            """);

        MsBuild(project);
        Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(copy));  // an ordinary build here leaves it alone

        MsBuild(project, Property);
        var (before, after) = (File.ReadAllBytes(original), File.ReadAllBytes(copy));
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        // One byte: the low byte of the Vernaux entry's vna_flags, VER_FLG_WEAK (0x2) added.
        var at = Assert.Single(changed);
        Assert.Equal(before[at] | 2, after[at]);

        MsBuild(project, Property);
        Assert.Equal(after, File.ReadAllBytes(copy));  // idempotent
    }

    /// <summary>The unpatched libLibTorchSharp.so of TorchSharp in the NuGet cache (restore put it there).</summary>
    private static string NuGetLibTorchSharp()
    {
        var packages = NuGetPackages.Folder;
        var torchsharp = Path.Combine(packages, "torchsharp");
        var found = Directory.Exists(torchsharp)
            ? Directory.GetDirectories(torchsharp).Select(v => Path.Combine(v, "runtimes", "linux-x64", "native", "libLibTorchSharp.so")).FirstOrDefault(File.Exists)
            : null;
        Assert.True(found is not null, $"no torchsharp/*/runtimes/linux-x64/native/libLibTorchSharp.so under {packages}");
        return found;
    }

    private static void MsBuild(string project, params string[] properties)
    {
        var start = new ProcessStartInfo("dotnet", ["msbuild", project, "-nologo", "-v:m", .. properties])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "dotnet msbuild did not finish");
        Assert.True(process.ExitCode == 0, $"dotnet msbuild {string.Join(' ', properties)} exit {process.ExitCode}\n{output.Result}\n{error.Result}");
    }

    public void Dispose() => _dir.Delete(recursive: true);

    [GeneratedRegex(@"dotnet publish(?:[^\n]*\\\n)*[^\n]*")]
    private static partial Regex PublishCommand();
}
