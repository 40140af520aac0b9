using SegCluster.Tests.Shared;
using SegCluster.Vision.IO;

namespace SegCluster.Vision.Tests.IO;

/// <summary>
/// What can be seen of a durable replacement: the new content in place and nothing else left in the folder, or the old
/// file untouched when the write fails. The fsyncs (the file's and its folder's) cannot be seen without pulling the power:
/// these tests only show that they do not get in the way (a folder fsync that failed would throw).
/// </summary>
public sealed class DurableFileTests
{
    [Fact]
    public void A_replacement_puts_the_new_content_in_place_and_leaves_only_the_file()
    {
        using var folder = new TempDirectory("segcluster-durable-");
        var path = Path.Combine(folder.FullName, "report.json");
        File.WriteAllText(path, "old");

        DurableFile.Replace(path, file => file.Write("new"u8));

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(folder.FullName));
    }

    [Fact]
    public async Task A_replacement_creates_the_folder_and_names_its_temporary_with_the_suffix_given()
    {
        using var folder = new TempDirectory("segcluster-durable-");
        var path = Path.Combine(folder.FullName, "state", "key");

        await DurableFile.ReplaceAsync(path, "record"u8.ToArray(), "#tmp");

        Assert.Equal("record", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    /// <summary>A write that fails part-way (a full disk, an encoder's error) leaves the previous file as it was and no
    /// temporary beside it. Before, each caller left its half-written temporary behind.</summary>
    [Fact]
    public void A_write_that_fails_leaves_the_old_file_and_no_temporary()
    {
        using var folder = new TempDirectory("segcluster-durable-");
        var path = Path.Combine(folder.FullName, "last.ckpt");
        File.WriteAllText(path, "old");

        var failed = Assert.Throws<IOException>(() => DurableFile.Replace(path, file =>
        {
            file.Write("half"u8);
            throw new IOException("No space left on device");
        }));

        Assert.Equal("No space left on device", failed.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(folder.FullName));
    }
}
