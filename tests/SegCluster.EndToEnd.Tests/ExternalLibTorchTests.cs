using System.Diagnostics;
using System.Text.Json;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// Issue 10 on CPU: a build made with -p:TorchBackend=external carries no libtorch and loads it from the
/// folder the user names — here the libtorch-cpu package in the NuGet cache — and trains.
/// </summary>
[Trait("Category", "Slow")]  // its fixture builds the CLI a second time (-p:TorchBackend=external): minutes on a clean checkout
public sealed class ExternalLibTorchTests : IClassFixture<ExternalLibTorchTests.ExternalBuild>, IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);
    private readonly ExternalBuild _build;
    private readonly DirectoryInfo _out = Directory.CreateTempSubdirectory("segcluster-libtorch-");

    public ExternalLibTorchTests(ExternalBuild build) => _build = build;

    [Fact]
    public async Task External_build_trains_on_libtorch_from_the_option()
    {
        var (exit, stdout, stderr) = await Run(new Dictionary<string, string?> { ["SEGCLUSTER_LIBTORCH"] = null }, "--libtorch", LibTorchCpuFolder());
        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains($"libtorch: {LibTorchCpuFolder()}", stderr, StringComparison.Ordinal);
        using var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(_out.FullName, "result.json")));
        Assert.Equal(2, result.RootElement.GetProperty("steps").GetInt32());
    }

    [Fact]
    public async Task External_build_reads_the_environment_variable()
    {
        var (exit, stdout, stderr) = await Run(new Dictionary<string, string?> { ["SEGCLUSTER_LIBTORCH"] = LibTorchCpuFolder() });
        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.Contains($"libtorch: {LibTorchCpuFolder()}", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task External_build_without_a_folder_says_how_to_give_one()
    {
        var (exit, _, stderr) = await Run(new Dictionary<string, string?> { ["SEGCLUSTER_LIBTORCH"] = null });
        Assert.Equal(2, exit);
        Assert.Contains("--libtorch DIR or set SEGCLUSTER_LIBTORCH", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_without_libtorch_is_named_with_what_was_looked_for()
    {
        var (exit, _, stderr) = await Run(new Dictionary<string, string?>(), "--libtorch", _out.FullName);
        Assert.Equal(2, exit);
        Assert.Contains($"'{_out.FullName}' lacks libtorch.so, libtorch_cpu.so, libc10.so", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_out.FullName, "result.json")));
    }

    /// <summary>`segcluster node` takes the folder from its node settings (Node:LibTorch; here SEGCLUSTER_Node__LibTorch), as
    /// the SegCluster.Node host does; it used to ask for --libtorch regardless.</summary>
    [Fact]
    public async Task The_node_command_reads_libtorch_from_its_node_settings()
    {
        using var cli = CliProcess.StartAt(_build.Dll, new Dictionary<string, string?> { ["SEGCLUSTER_LIBTORCH"] = null, ["SEGCLUSTER_Node__LibTorch"] = _out.FullName },
            "node", "--devices", "cpu", "--checkpoint-dir", _out.FullName);
        var (exit, _, stderr) = await cli.WaitAsync(Limit);
        Assert.Equal(2, exit);
        Assert.Contains($"'{_out.FullName}' lacks libtorch.so, libtorch_cpu.so, libc10.so", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_bundled_build_refuses_a_second_libtorch()
    {
        using var cli = CliProcess.Start("quickstart", "--steps", "1", "--libtorch", LibTorchCpuFolder(), "--out", _out.FullName);
        var (exit, _, stderr) = await cli.WaitAsync(Limit);
        Assert.Equal(2, exit);
        Assert.Contains("this build bundles libtorch (TorchBackend=cpu)", stderr, StringComparison.Ordinal);
    }

    private async Task<(int, string, string)> Run(Dictionary<string, string?> environment, params string[] extra)
    {
        using var cli = CliProcess.StartAt(_build.Dll, environment,
            ["quickstart", "--workers", "1", "--steps", "2", "--image-size", "32", "--batch-size", "2", "--metrics-port", "0", "--out", _out.FullName, .. extra]);
        return await cli.WaitAsync(Limit);
    }

    /// <summary>The native folder of the libtorch-cpu package TorchSharp-cpu restored (the same libtorch 2.10 the default build bundles).</summary>
    private static string LibTorchCpuFolder()
    {
        var root = Path.Combine(NuGetPackages.Folder, "libtorch-cpu-linux-x64");
        return Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(v => Path.Combine(v, "runtimes", "linux-x64", "native")).Where(Directory.Exists).Order().Last()
            : throw new DirectoryNotFoundException($"{root} is missing: restore the solution first (the default build pulls libtorch-cpu).");
    }

    public void Dispose() => _out.Delete(recursive: true);

    /// <summary>Builds the CLI once with -p:TorchBackend=external (beside the default build: bin/external, obj/external).</summary>
    public sealed class ExternalBuild
    {
        public string Dll { get; }

        public ExternalBuild()
        {
            var project = RepoPaths.Of("src", "SegCluster.Cli");
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in (string[])["build", project, "-c", "Release", "-p:TorchBackend=external", "-v", "q", "-nologo"]) info.ArgumentList.Add(a);
            using var build = Process.Start(info)!;
            var output = build.StandardOutput.ReadToEndAsync();
            var errors = build.StandardError.ReadToEndAsync();
            if (!build.WaitForExit(TimeSpan.FromMinutes(10)))
            {
                build.Kill(entireProcessTree: true);
                throw new TimeoutException("dotnet build -p:TorchBackend=external took over 10 minutes");
            }
            if (build.ExitCode != 0)
                throw new InvalidOperationException($"dotnet build -p:TorchBackend=external failed:\n{output.Result}\n{errors.Result}");
            Dll = Path.Combine(project, "bin", "external", "Release", "net10.0", "segcluster.dll");
        }
    }
}
