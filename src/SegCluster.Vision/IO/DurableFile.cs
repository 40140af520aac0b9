using System.Runtime.InteropServices;

namespace SegCluster.Vision.IO;

/// <summary>
/// Replaces a file atomically and durably: the content goes to a temporary file beside it, which is flushed to disk and
/// renamed over the file, and then the folder is flushed too. A reader, or a crash at any point, finds the old file or
/// the new one, never part of one; and once a replacement has returned, a power loss cannot bring the old file back. On
/// Linux the rename is a change to the folder's entries, which flushing the file does not write (ext4, XFS), so without
/// the folder's fsync a crash soon after could undo it.
/// Lives here, the lowest project the checkpoint store, the grain state files, the CLI's result files and prediction
/// images all reach.
/// </summary>
public static class DurableFile
{
    /// <summary>What the temporary file's name adds to the file's, unless a caller names its own.</summary>
    public const string TemporarySuffix = ".tmp";

    /// <summary>Replaces <paramref name="path"/> (creating its folder if needed) with what <paramref name="write"/> writes;
    /// blocks in the disk flushes. When <paramref name="write"/> or a flush throws, the old file stays and the temporary is removed.</summary>
    /// <param name="temporarySuffix">Appended to <paramref name="path"/> to name the temporary file.</param>
    /// <param name="durable">False: atomic only (no flush), for output that can be made again (prediction images), where two
    /// fsyncs per file cost more than they keep.</param>
    public static void Replace(string path, Action<Stream> write, string temporarySuffix = TemporarySuffix, bool durable = true)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        var temporary = full + temporarySuffix;
        Directory.CreateDirectory(folder);
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: durable);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        if (durable) FlushFolder(folder);
    }

    /// <summary><see cref="Replace"/> with <paramref name="content"/>, on the thread pool: the flushes block, and a caller on
    /// an Orleans scheduler thread (a grain's storage write) must not hold that thread while they do.</summary>
    public static Task ReplaceAsync(string path, ReadOnlyMemory<byte> content, string temporarySuffix = TemporarySuffix, CancellationToken cancellationToken = default) =>
        Task.Run(() => Replace(path, file => file.Write(content.Span), temporarySuffix), cancellationToken);

    private static void TryDelete(string temporary)
    {
        try { File.Delete(temporary); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }  // the write's own error is the one to report
    }

    /// <summary>
    /// fsync of the folder, so the rename inside it is on disk. .NET cannot open a folder as a file, hence open(2). A folder
    /// that cannot be opened (no read permission) or a file system without folder fsync (EINVAL) is left as it is: the
    /// rename stands, only not flushed; an I/O error is thrown. Windows has no folder flush to make (NTFS journals renames).
    /// </summary>
    private static void FlushFolder(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var fd = open(folder, OperatingSystem.IsLinux() ? LinuxCloseOnExec : MacCloseOnExec);  // O_RDONLY: 0
        if (fd < 0) return;
        try
        {
            if (fsync(fd) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != EINVAL)
                throw new IOException($"The folder '{folder}' could not be flushed to disk after a file in it was replaced (errno {errno}).");
        }
        finally
        {
            close(fd);
        }
    }

    // O_CLOEXEC, so a process started meanwhile does not inherit the descriptor; its value differs between the two.
    private const int LinuxCloseOnExec = 0x80000, MacCloseOnExec = 0x1000000;
    private const int EINVAL = 22;  // the same on Linux and macOS

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi)] private static extern int open(string path, int flags);
    [DllImport("libc", SetLastError = true)] private static extern int fsync(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
}
