using System.Diagnostics;
using System.Reflection;

namespace SegCluster.Bench;

/// <summary>Starts this benchmark program again as a child process (a rank, a sink), with stdout/stderr captured.</summary>
internal static class SelfProcess
{
    public static Process Start(params string[] args)
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {host}");
    }
}
