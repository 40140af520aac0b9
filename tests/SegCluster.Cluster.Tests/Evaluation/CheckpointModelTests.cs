using SegCluster.Abstractions.Specs;
using SegCluster.Abstractions.Specs.Files;
using SegCluster.Cluster.Evaluation;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Evaluation;

/// <summary>
/// eval and predict rebuild the network from the checkpoint file alone. Before, the rebuild asked for what only training
/// has: inverse-frequency class suppression refused to build without the train split's frequencies, and a recorded
/// model.backbone_weights file that is not on this machine was "does not exist", though the checkpoint holds every weight.
/// </summary>
public sealed class CheckpointModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segcluster-checkpoint-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_checkpoint_rebuilds_without_class_frequencies_or_the_backbone_file()
    {
        var spec = new ExperimentSpec
        {
            Workers = 1,
            Seed = 3,
            Dataset = new DatasetSpec { NumClasses = 4, Height = 32, Width = 32, TrainCount = 4, ValidationCount = 2 },
            Model = new ModelSpec { Name = "encoder-decoder", Width = 4, Norm = "none" },
            Loss = new LossSpec { Kind = LossSpec.ClassSuppressionKind, ClassSuppression = new ClassSuppressionSpec { Sampling = ClassSuppressionSpec.InverseFrequency } },
            Training = new TrainingSpec { Steps = 2, BatchPerWorker = 2 },
        };
        double[] frequencies = [0.7, 0.2, 0.07, 0.03];
        var data = new SyntheticSceneDataset(SpecMapping.TrainData(spec));
        var path = Path.Combine(_dir, "best.ckpt");
        using var trained = SpecMapping.BuildModel(spec, frequencies);
        using (var trainer = new DataParallelTrainer(trained, SpecMapping.Criterion(spec, frequencies), SpecMapping.Optimizer(spec), new SingleRankReducer()))
        {
            using (var batch = SegmentationBatch.Collate([data.Get(0), data.Get(1)], CPU)) trainer.Step(batch);
            // Recorded as trained on a machine that had the encoder's pretrained file.
            var recorded = spec with { Model = spec.Model with { BackboneWeights = Path.Combine(_dir, "gone", "resnet.weights") } };
            CheckpointStore.Save(path, trainer, SpecFiles.ToJson(recorded), data.ClassNames);
        }

        using var rebuilt = CheckpointModel.Load(path);

        var expected = trained.state_dict();
        foreach (var (name, value) in rebuilt.Model.state_dict())
            Assert.True(value.eq(expected[name]).all().item<bool>(), $"{name} differs from the trained weights");
        Assert.False(rebuilt.Model.training);
    }
}
