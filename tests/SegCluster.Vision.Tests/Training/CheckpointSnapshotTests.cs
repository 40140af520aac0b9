using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Precision;

namespace SegCluster.Vision.Tests.Training;

/// <summary>
/// A checkpoint written from a host snapshot (the worker's background write, training.async_checkpoint) is the file
/// <see cref="CheckpointStore.Save"/> writes at the snapshot's step, byte for byte, whatever the trainer did after the
/// snapshot: weights, optimiser state, step counts, the fp16 loss scaler, and a channels_last model's NCHW order.
/// </summary>
public sealed class CheckpointSnapshotTests : IDisposable
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 8, Seed: 5));
    private readonly string _dir = Directory.CreateTempSubdirectory("segcluster-snapshot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(PrecisionMode.Fp32, MemoryFormat.Contiguous)]
    [InlineData(PrecisionMode.Fp32, MemoryFormat.ChannelsLast)]
    [InlineData(PrecisionMode.Fp16Mixed, MemoryFormat.Contiguous)]
    public void A_snapshot_written_after_more_steps_is_the_file_Save_wrote_at_its_step(PrecisionMode precision, MemoryFormat format)
    {
        using var model = TestData.Model("spgnet", 4, 8, NormKind.BatchNorm, seed: 3);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(LearningRate: 0.02, Momentum: 0.9),
            new SingleRankReducer(), new PrecisionOptions(precision, format));
        Step(trainer, [0, 1]);
        Step(trainer, [2, 3]);
        string saved = Path.Combine(_dir, "saved.ckpt"), written = Path.Combine(_dir, "written.ckpt");
        CheckpointStore.Save(saved, trainer, spec: "{}", classNames: ["a", "b", "c", "d"]);

        using var snapshot = CheckpointSnapshot.Take(trainer);
        Step(trainer, [4, 5]);  // the trainer goes on while the file is written
        CheckpointStore.Write(written, snapshot, spec: "{}", classNames: ["a", "b", "c", "d"]);
        Assert.Equal(File.ReadAllBytes(saved), File.ReadAllBytes(written));
        Assert.False(File.Exists(written + ".tmp"));

        // The next checkpoint copies into the same host memory.
        snapshot.Refresh(trainer);
        Assert.Equal(3, snapshot.CompletedSteps);
        CheckpointStore.Save(saved, trainer);
        CheckpointStore.Write(written, snapshot);
        Assert.Equal(File.ReadAllBytes(saved), File.ReadAllBytes(written));
    }

    [Fact]
    public void A_snapshot_refuses_a_trainer_of_another_model()
    {
        using var small = TestData.Model("encoder-decoder", 4, 4, NormKind.None);
        using var wide = TestData.Model("encoder-decoder", 4, 8, NormKind.None);
        using var smallTrainer = new DataParallelTrainer(small, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(), new SingleRankReducer());
        using var wideTrainer = new DataParallelTrainer(wide, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(), new SingleRankReducer());
        using var snapshot = CheckpointSnapshot.Take(smallTrainer);

        Assert.Throws<InvalidOperationException>(() => snapshot.Refresh(wideTrainer));
    }

    private static void Step(DataParallelTrainer trainer, int[] samples)
    {
        using var batch = TestData.Batch(Scenes, samples);
        trainer.Step(batch);
    }
}
