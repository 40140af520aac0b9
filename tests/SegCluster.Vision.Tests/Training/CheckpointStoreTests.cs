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
        Assert.Equal(trainer.MomentumSnapshot(), resumed.MomentumSnapshot());
    }

    [Fact]
    public void ACheckpointOfAnotherModelIsRefused()
    {
        string path = Path.Combine(dir, "small.ckpt");
        using (var model = TestData.Model("encoder-decoder", 4, 4, NormKind.None))
        using (var trainer = Trainer(model))
            CheckpointStore.Save(path, trainer);
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
}
