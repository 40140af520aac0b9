using System.Runtime.InteropServices;
using System.Text;
using SegCluster.Tests.Shared;
using SegCluster.Vision.Devices;

namespace SegCluster.Vision.Tests.Devices;

/// <summary>
/// `segcluster quickstart > log 2>&amp;1`: stdout and the filtered stderr share one file and its offset. The filter
/// wrote through a FileStream, which keeps its own offset, so its lines overwrote what stdout had written meanwhile
/// (the quickstart's header line was lost under the NNPACK warning). Alone: it redirects the process's fd 2.
/// </summary>
[Collection(nameof(NativeWarningFilterTests))]
[CollectionDefinition(nameof(NativeWarningFilterTests), DisableParallelization = true)]
public sealed class NativeWarningFilterTests : IDisposable
{
    private const int StandardError = 2;
    private readonly string _log = Path.Combine(Path.GetTempPath(), $"native-warning-filter-{Guid.NewGuid():N}.log");

    [LinuxFact]  // the filter does nothing elsewhere
    public void Filtered_lines_append_to_a_log_file_that_stdout_shares()
    {
        var file = open(_log, O_WRONLY | O_CREAT | O_TRUNC, 0x180);
        var stdout = dup(file);  // stands in for fd 1 of `> log 2>&1`: same open file, same offset
        var savedStderr = dup(StandardError);
        dup2(file, StandardError);
        try
        {
            using (NativeWarningFilter.Install())
            {
                Write(StandardError, "native first\n");
                WaitForLength(13);  // the filter has written it, at the file's offset
                Write(stdout, "stdout line\n");
                Write(StandardError, "native second\n");
            }
        }
        finally
        {
            dup2(savedStderr, StandardError);
            close(savedStderr);
            close(stdout);
            close(file);
        }

        Assert.Equal("native first\nstdout line\nnative second\n", File.ReadAllText(_log));
    }

    private void WaitForLength(long bytes) =>
        Assert.True(SpinWait.SpinUntil(() => new FileInfo(_log).Length >= bytes, TimeSpan.FromSeconds(10)),
            "the filter never passed the first line on");

    private static void Write(int fd, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal(bytes.Length, (int)write(fd, bytes, bytes.Length));
    }

    public void Dispose() => File.Delete(_log);

    private const int O_WRONLY = 0x1, O_CREAT = 0x40, O_TRUNC = 0x200;
    [DllImport("libc", SetLastError = true)] private static extern int open(string path, int flags, int mode);
    [DllImport("libc", SetLastError = true)] private static extern int dup(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int dup2(int oldFd, int newFd);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] private static extern nint write(int fd, byte[] buffer, nint count);
}
