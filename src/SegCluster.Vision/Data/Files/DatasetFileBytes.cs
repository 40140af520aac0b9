namespace SegCluster.Vision.Data.Files;

/// <summary>
/// Reads a dataset file whole, retrying read errors: on a network volume (NFS, a PVC) a read can fail once (EIO, a
/// stale handle, a server failing over) and succeed a second later, and a sample whose read failed would otherwise be
/// trained as all-ignore for the rest of the run. A missing or forbidden file is not retried. Every failure is a
/// <see cref="DatasetFileException"/> naming the file.
/// </summary>
public static class DatasetFileBytes
{
    /// <summary>Waits between attempts: four reads within about 4 s.</summary>
    internal static readonly TimeSpan[] Backoff = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)];

    public static byte[] Read(string path) => Read(path, File.ReadAllBytes, Thread.Sleep);

    internal static byte[] Read(string path, Func<string, byte[]> readAllBytes, Action<TimeSpan> sleep)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return readAllBytes(path);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new DatasetFileException(path, "file not found.", e);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new DatasetFileException(path, $"cannot be read ({e.Message}).", e);
            }
            catch (IOException e)
            {
                if (attempt == Backoff.Length)
                    throw new DatasetFileException(path, $"could not be read in {attempt + 1} attempts ({e.Message}).", e);
                sleep(Backoff[attempt]);
            }
        }
    }
}
