using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;

namespace SegCluster.Vision.Tests.Training;

public sealed class CheckpointStoreTests : IDisposable
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 8, Seed: 11));
    private readonly string dir = Directory.CreateTempSubdirectory("segcluster-ckpt-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static DataParallelTrainer Trainer(SegmentationModel model) =>
        new(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(LearningRate: 0.05), new SingleRankReducer());

    /// <summary>Saves a fresh encoder-decoder (4 classes, width 4, no norm) with an SGD trainer; returns the path.</summary>
    private string SaveSmall(string name, string? spec = null)
    {
        string path = Path.Combine(dir, name);
        using var model = TestData.Model("encoder-decoder", 4, 4, NormKind.None);
        using var trainer = Trainer(model);
        CheckpointStore.Save(path, trainer, spec);
        return path;
    }

    [Fact]
    public void AResumedRunTakesTheSameNextStepAsAnUninterruptedOne()
    {
        using var first = TestData.Batch(Scenes, [0, 1, 2, 3]);
        using var second = TestData.Batch(Scenes, [4, 5, 6, 7]);
        string path = Path.Combine(dir, "run", "last.ckpt");

        using var model = TestData.Model("spgnet", 4, 8, NormKind.BatchNorm);
        using var trainer = Trainer(model);
        trainer.Step(first);
        trainer.Step(second);
        CheckpointStore.Save(path, trainer);
        Assert.False(File.Exists(path + ".tmp"));
        trainer.Step(first);  // the uninterrupted third step

        using var fresh = TestData.Model("spgnet", 4, 8, NormKind.BatchNorm, seed: 99);
        using var resumed = Trainer(fresh);
        Assert.Equal(2, CheckpointStore.Load(path, resumed));
        Assert.Equal(2, resumed.CompletedSteps);
        resumed.Step(first);

        var expected = TestData.Snapshot(model);
        var actual = TestData.Snapshot(fresh);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i]);
        Assert.Equal(trainer.OptimizerStateSnapshot(), resumed.OptimizerStateSnapshot());
    }

    [Fact]
    public void ACheckpointOfAnotherModelIsRefused()
    {
        string path = SaveSmall("small.ckpt");
        using var other = TestData.Model("encoder-decoder", 4, 8, NormKind.None);
        using var otherTrainer = Trainer(other);
        Assert.ThrowsAny<ArgumentException>(() => CheckpointStore.Load(path, otherTrainer));
    }

    [Fact]
    public void A_checkpoint_of_another_class_count_names_the_file_and_the_parameter()
    {
        string path = Path.Combine(dir, "four.ckpt");
        using (var model = TestData.Model("encoder-decoder", 4, 4, NormKind.None))
        using (var trainer = Trainer(model))
            CheckpointStore.Save(path, trainer, spec: "{}", classNames: ["a", "b", "c", "d"]);
        using var other = TestData.Model("encoder-decoder", 5, 4, NormKind.None);
        var error = Assert.Throws<ArgumentException>(() => CheckpointStore.LoadWeights(path, other));
        Assert.Contains(path, error.Message);
        Assert.Matches(@"parameter '[^']+' is \[4, .*\] in the checkpoint but \[5, .*\] in the model", error.Message);
    }

    [Fact]
    public void Metadata_records_the_spec_classes_and_shapes()
    {
        string path = Path.Combine(dir, "meta.ckpt");
        using var model = TestData.Model("encoder-decoder", 4, 4, NormKind.BatchNorm);
        using (var trainer = Trainer(model))
            CheckpointStore.Save(path, trainer, spec: """{"name":"x"}""", classNames: ["a", "b", "c", "d"]);
        var metadata = CheckpointStore.ReadMetadata(path);
        Assert.Equal("""{"name":"x"}""", metadata.Spec);
        Assert.Equal(4, metadata.NumClasses);
        Assert.Equal(model.state_dict().Keys, metadata.StateShapes.Keys);
        using var copy = TestData.Model("encoder-decoder", 4, 4, NormKind.BatchNorm, seed: 42);
        CheckpointStore.LoadWeights(path, copy);
        Assert.Equal(TestData.Snapshot(model)[0], TestData.Snapshot(copy)[0]);
    }

    /// <summary>Checkpoints written before the best recorded the path of its file (a best of metric, score and step only)
    /// still load, to train on and to read: their best has no path.</summary>
    [Fact]
    public void A_checkpoint_whose_best_records_no_path_still_loads()
    {
        string path = Path.Combine(dir, "older.ckpt");
        using var model = TestData.Model("encoder-decoder", 4, 4, NormKind.None);
        using (var trainer = Trainer(model))
            CheckpointStore.Save(path, trainer, spec: "{}", best: new BestValidation("miou", 0.4375, 4, "/ckpt/run1/best.ckpt"));
        RewriteMetadata(path, json =>
        {
            var older = json.Replace(@",""Path"":""/ckpt/run1/best.ckpt""", "", StringComparison.Ordinal);
            Assert.NotEqual(json, older);
            return older;
        });

        Assert.Equal(new BestValidation("miou", 0.4375, 4), CheckpointStore.ReadMetadata(path).Best);
        using var copy = TestData.Model("encoder-decoder", 4, 4, NormKind.None, seed: 42);
        using var copyTrainer = Trainer(copy);
        Assert.Equal(0, CheckpointStore.Load(path, copyTrainer));
        Assert.Equal(TestData.Snapshot(model), TestData.Snapshot(copy));
    }

    /// <summary>Rewrites the metadata JSON of a version-2 checkpoint, keeping everything after it.</summary>
    private static void RewriteMetadata(string path, Func<string, string> rewrite)
    {
        int magic, version;
        string json;
        byte[] rest;
        using (var reader = new BinaryReader(File.OpenRead(path)))
        {
            (magic, version, json) = (reader.ReadInt32(), reader.ReadInt32(), reader.ReadString());
            rest = reader.ReadBytes((int)(reader.BaseStream.Length - reader.BaseStream.Position));
        }
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(magic);
        writer.Write(version);
        writer.Write(rewrite(json));
        writer.Write(rest);
    }

    [Fact]
    public void An_sgd_checkpoint_is_refused_by_an_adamw_trainer_before_its_weights_change()
    {
        string path = SaveSmall("sgd.ckpt");
        using var other = TestData.Model("encoder-decoder", 4, 4, NormKind.None, seed: 99);
        using var adamW = new DataParallelTrainer(other, new SegmentationCriterion(new LossOptions()),
            new OptimizerOptions(LearningRate: 0.05, Kind: OptimizerOptions.AdamW), new SingleRankReducer());
        var before = TestData.Snapshot(other);
        var error = Assert.Throws<ArgumentException>(() => CheckpointStore.Load(path, adamW));
        Assert.Contains(path, error.Message);
        Assert.Contains("adamw trainer needs", error.Message);
        Assert.Equal(before, TestData.Snapshot(other));
        Assert.Equal(0, adamW.CompletedSteps);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public void A_corrupt_optimizer_state_length_is_refused_naming_the_file(int length)
    {
        string path = SaveSmall("corrupt.ckpt", spec: "{}");
        long offset;
        using (var reader = new BinaryReader(File.OpenRead(path)))
        {
            reader.ReadInt32(); reader.ReadInt32(); reader.ReadString(); reader.ReadInt64();  // magic, version, metadata, steps
            offset = reader.BaseStream.Position;
        }
        using (var stream = File.OpenWrite(path)) { stream.Position = offset; stream.Write(BitConverter.GetBytes(length)); }

        using var model = TestData.Model("encoder-decoder", 4, 4, NormKind.None);
        using var trainer = Trainer(model);
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => CheckpointStore.Load(path, trainer)).Message);
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => CheckpointStore.LoadWeights(path, model)).Message);
    }

    [Fact]
    public void More_optimizer_steps_than_completed_steps_is_refused_before_the_weights_load()
    {
        string path = SaveSmall("applied.ckpt", spec: "{}");
        byte[] rest;
        string metadata;
        int magic, version;
        using (var reader = new BinaryReader(File.OpenRead(path)))
        {
            (magic, version, metadata) = (reader.ReadInt32(), reader.ReadInt32(), reader.ReadString());
            rest = reader.ReadBytes((int)(reader.BaseStream.Length - reader.BaseStream.Position));
        }
        Assert.Contains("\"OptimizerSteps\":0", metadata);
        using (var writer = new BinaryWriter(File.Create(path)))
        {
            writer.Write(magic);
            writer.Write(version);
            writer.Write(metadata.Replace("\"OptimizerSteps\":0", "\"OptimizerSteps\":7"));  // the file says 0 completed steps
            writer.Write(rest);
        }

        using var model = TestData.Model("encoder-decoder", 4, 4, NormKind.None, seed: 99);
        using var trainer = Trainer(model);
        var before = TestData.Snapshot(model);
        var error = Assert.Throws<InvalidDataException>(() => CheckpointStore.Load(path, trainer));
        Assert.Contains($"checkpoint '{path}' is corrupt: it records 7 optimiser steps for 0 completed steps", error.Message);
        Assert.Equal(before, TestData.Snapshot(model));
    }

    [Fact]
    public void A_truncated_checkpoint_leaves_the_weights_as_they_were()
    {
        string path = SaveSmall("truncated.ckpt", spec: "{}");
        using (var stream = File.OpenWrite(path)) stream.SetLength(stream.Length - 64);  // the last tensor's tail
        using var other = TestData.Model("encoder-decoder", 4, 4, NormKind.None, seed: 99);
        using var otherTrainer = Trainer(other);
        var before = TestData.Snapshot(other);
        var error = Assert.Throws<InvalidDataException>(() => CheckpointStore.Load(path, otherTrainer));
        Assert.Contains($"checkpoint '{path}' is corrupt: it ends before its last tensor", error.Message);
        Assert.Equal(before, TestData.Snapshot(other));
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => CheckpointStore.LoadWeights(path, other)).Message);
    }

    [Fact]
    public void A_corrupt_metadata_header_is_refused_naming_the_file()
    {
        string path = SaveSmall("header.ckpt", spec: "{}");
        using (var stream = File.OpenWrite(path)) { stream.Position = 14; stream.Write("#not-json"u8); }  // inside the metadata JSON
        using var model = TestData.Model("encoder-decoder", 4, 4, NormKind.None);
        using var trainer = Trainer(model);
        foreach (var read in new Action[] { () => CheckpointStore.ReadMetadata(path), () => CheckpointStore.Load(path, trainer), () => CheckpointStore.LoadWeights(path, model) })
            Assert.StartsWith($"checkpoint '{path}' is corrupt: its metadata header cannot be read", Assert.Throws<InvalidDataException>(read).Message, StringComparison.Ordinal);
    }
}
