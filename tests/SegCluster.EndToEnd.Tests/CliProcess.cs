using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SegCluster.EndToEnd.Tests;

/// <summary>Runs the real `segcluster` CLI (the built segcluster.dll) as a child process.</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout, _stderr;

    private CliProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    /// <summary>The CLI built beside the tests (the default, bundled-libtorch build).</summary>
    public static string DefaultDll { get; } = Path.Combine(AppContext.BaseDirectory, "segcluster.dll");

    public static CliProcess Start(params string[] args) => StartAt(DefaultDll, new Dictionary<string, string?>(), args);

    /// <summary>Starts the CLI at <paramref name="dll"/>; <paramref name="environment"/> entries set (or, when null, remove) variables.</summary>
    public static CliProcess StartAt(string dll, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false }.WithoutCrashDumps();
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment)
        {
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        }
        return new CliProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start the CLI"));
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Sends SIGINT, as Ctrl+C in a terminal does (.NET's Process can only send SIGKILL).</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start("kill", ["-INT", _process.Id.ToString()]) ?? throw new InvalidOperationException("could not run kill");
        await kill.WaitForExitAsync();
    }

    public async Task<(int ExitCode, string Stdout, string Stderr)> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the CLI did not finish within {timeout}; output so far:\n{await _stdout}\n{await _stderr}");
        }
        return (_process.ExitCode, await _stdout, await _stderr);
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var cli = Start(args);
        return await cli.WaitAsync(timeout);
    }


    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);  // Kill only signals: what the process holds (ports, file locks) is free once it has exited
        }
        _process.Dispose();
    }
}
