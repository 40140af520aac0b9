using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Tests.Data.Files;

/// <summary>A read error on a network volume is retried with backoff before the sample is given up; a missing file is not.</summary>
public sealed class DatasetFileBytesTests
{
    [Fact]
    public void A_read_that_fails_twice_then_succeeds_returns_the_bytes()
    {
        var waits = new List<TimeSpan>();
        var calls = 0;
        var bytes = DatasetFileBytes.Read("/data/a.png", _ => ++calls < 3 ? throw new IOException("Stale file handle") : [1, 2, 3], waits.Add);
        Assert.Equal([1, 2, 3], bytes);
        Assert.Equal(DatasetFileBytes.Backoff.Take(2), waits);
    }

    [Fact]
    public void A_read_that_keeps_failing_is_a_dataset_file_error_naming_the_file_and_the_cause()
    {
        var calls = 0;
        var error = Assert.Throws<DatasetFileException>(() =>
            DatasetFileBytes.Read("/data/a.png", _ => { calls++; throw new IOException("Input/output error"); }, _ => { }));
        Assert.Equal(DatasetFileBytes.Backoff.Length + 1, calls);
        Assert.Equal("/data/a.png", error.Path);
        Assert.Contains("could not be read in 4 attempts (Input/output error)", error.Message);
    }

    [Fact]
    public void A_missing_file_is_not_retried()
    {
        var calls = 0;
        var error = Assert.Throws<DatasetFileException>(() =>
            DatasetFileBytes.Read("/data/none.png", p => { calls++; throw new FileNotFoundException("gone", p); }, _ => Assert.Fail("slept")));
        Assert.Equal(1, calls);
        Assert.EndsWith("file not found.", error.Message, StringComparison.Ordinal);
    }
}
