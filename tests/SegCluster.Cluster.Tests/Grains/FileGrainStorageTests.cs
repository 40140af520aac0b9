using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using SegCluster.Abstractions.Sweeps;
using SegCluster.Cluster.Grains;

namespace SegCluster.Cluster.Tests.Grains;

/// <summary>The file grain storage of a node with Node:StateDirectory: records survive a new instance (a new process), a
/// stale write is refused as Orleans' providers refuse it, a second process cannot share the folder, and a damaged
/// file is named instead of read as an empty record.</summary>
public sealed class FileGrainStorageTests
{
    private static readonly IGrainStorageSerializer Serializer =
        new OrleansGrainStorageSerializer(new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());
    private static readonly GrainId Trial = GrainId.Create("sweeptrial", "grid-20261125/x#3");

    [Fact]
    public async Task A_record_written_by_one_instance_is_read_by_the_next_and_cleared()
    {
        using var folder = new TempDirectory("segcluster-files-");
        var result = new TrialResult { Index = 3, Name = "grid-t003", State = TrialState.Completed, Metric = 0.5 };
        using (var first = new FileGrainStorage(folder.FullName, Serializer))
            await first.WriteStateAsync("trial", Trial, new GrainState<SweepTrialRecord>(new SweepTrialRecord { Result = result }));

        using var second = new FileGrainStorage(folder.FullName, Serializer);
        var read = new GrainState<SweepTrialRecord>();
        await second.ReadStateAsync("trial", Trial, read);
        Assert.True(read.RecordExists);
        Assert.Equal(result, read.State!.Result);
        Assert.NotNull(read.ETag);
        Assert.Empty(Directory.GetFiles(folder.FullName, "*" + FileGrainStorage.TemporarySuffix, SearchOption.AllDirectories));  // written through a renamed temporary

        await second.ClearStateAsync("trial", Trial, read);
        var gone = new GrainState<SweepTrialRecord>();
        await second.ReadStateAsync("trial", Trial, gone);
        Assert.False(gone.RecordExists);
        Assert.Null(gone.State!.Result);
    }

    [Fact]
    public async Task A_write_from_a_stale_read_is_refused_and_the_stored_record_kept()
    {
        using var folder = new TempDirectory("segcluster-files-");
        using var storage = new FileGrainStorage(folder.FullName, Serializer);
        var (one, two) = (new GrainState<SweepTrialRecord>(), new GrainState<SweepTrialRecord>());
        await storage.ReadStateAsync("trial", Trial, one);
        await storage.ReadStateAsync("trial", Trial, two);
        one.State = new SweepTrialRecord { Result = new TrialResult { Index = 1 } };
        await storage.WriteStateAsync("trial", Trial, one);

        two.State = new SweepTrialRecord { Result = new TrialResult { Index = 2 } };
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("trial", Trial, two));
        var read = new GrainState<SweepTrialRecord>();
        await storage.ReadStateAsync("trial", Trial, read);
        Assert.Equal(1, read.State!.Result!.Index);
        await storage.WriteStateAsync("trial", Trial, read);  // with the stored ETag it goes through
    }

    [Fact]
    public void A_second_storage_on_the_same_folder_is_refused_naming_it()
    {
        using var folder = new TempDirectory("segcluster-files-");
        using var first = new FileGrainStorage(folder.FullName, Serializer);
        var error = Assert.Throws<InvalidOperationException>(() => new FileGrainStorage(folder.FullName, Serializer));
        Assert.Contains(folder.FullName, error.Message);
        Assert.Contains("it is in use by another SegCluster process", error.Message);
    }

    [Fact]
    public async Task A_damaged_record_is_named_not_read_as_empty()
    {
        using var folder = new TempDirectory("segcluster-files-");
        using var storage = new FileGrainStorage(folder.FullName, Serializer);
        await storage.WriteStateAsync("trial", Trial, new GrainState<SweepTrialRecord>(new SweepTrialRecord { Result = new TrialResult { Index = 3, Name = "grid-t003" } }));
        var file = Assert.Single(Directory.GetFiles(folder.FullName, "*", SearchOption.AllDirectories), f => !f.EndsWith(".lock"));
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => storage.ReadStateAsync("trial", Trial, new GrainState<SweepTrialRecord>()));
        Assert.Contains(file, error.Message);
    }
}
