using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace SegCluster.Vision.Devices;

/// <summary>
/// While alive, routes the process's native stderr (fd 2) through a filter that passes every line except
/// repeats of libtorch's "Could not initialize NNPACK! Reason: Unsupported hardware." warning, which this
/// libtorch logs on every CPU convolution run without autograd (hundreds of lines per evaluation) on CPUs
/// NNPACK does not recognise. The first occurrence is kept. Dispose restores fd 2 and drains the pipe,
/// so nothing written before Dispose is lost. Linux only; elsewhere it does nothing.
/// </summary>
public sealed class NativeWarningFilter : IDisposable
{
    private const int StandardError = 2;
    private const int EINTR = 4;
    private readonly int _savedStderr = -1;
    private readonly Thread? _pump;

    private NativeWarningFilter(int savedStderr, Thread pump) => (_savedStderr, _pump) = (savedStderr, pump);

    private NativeWarningFilter() { }

    public static NativeWarningFilter Install()
    {
        if (!OperatingSystem.IsLinux()) return new NativeWarningFilter();
        var fds = new int[2];
        if (pipe(fds) != 0) return new NativeWarningFilter();
        var saved = dup(StandardError);
        Console.Error.Flush();
        dup2(fds[1], StandardError);
        close(fds[1]);
        var reader = new SafeFileHandle(fds[0], ownsHandle: true);
        var pump = new Thread(() => Pump(reader, saved)) { IsBackground = true, Name = "native-stderr-filter" };
        pump.Start();
        return new NativeWarningFilter(saved, pump);
    }

    public void Dispose()
    {
        if (_pump is null) return;
        Console.Error.Flush();
        dup2(_savedStderr, StandardError); // closes the pipe's last write end: the pump sees end of file
        _pump.Join(TimeSpan.FromSeconds(5));
        close(_savedStderr);
    }

    private static void Pump(SafeFileHandle reader, int output)
    {
        using var input = new StreamReader(new FileStream(reader, FileAccess.Read, 1), Encoding.UTF8);
        var nnpackSeen = false;
        while (input.ReadLine() is { } line)
        {
            if (line.Contains("Could not initialize NNPACK", StringComparison.Ordinal))
            {
                if (nnpackSeen) continue;
                nnpackSeen = true;
                line += " (repeats suppressed)";
            }
            WriteAll(output, Encoding.UTF8.GetBytes(line + "\n"));
        }
    }

    // write(2), not a FileStream: when stderr is a file that stdout shares (`> log 2>&1`), a FileStream writes at the
    // offset it tracks itself and overwrote what stdout had written since; write(2) appends at the shared offset.
    private static void WriteAll(int fd, byte[] bytes)
    {
        for (var written = 0; written < bytes.Length;)
        {
            var n = write(fd, bytes[written..], bytes.Length - written);
            if (n > 0) written += (int)n;
            else if (n == 0 || Marshal.GetLastPInvokeError() != EINTR) return;  // stderr gone: nothing left to tell
        }
    }

    [DllImport("libc", SetLastError = true)] private static extern int pipe(int[] fds);
    [DllImport("libc", SetLastError = true)] private static extern int dup(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int dup2(int oldFd, int newFd);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] private static extern nint write(int fd, byte[] buffer, nint count);
}
