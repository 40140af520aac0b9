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

    public static CliProcess Start(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "segcluster.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["NO_COLOR"] = "1";
        return new CliProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start the CLI"));
    }

    public bool HasExited => _process.HasExited;

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

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
