using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>Every loss.kind trains from its spec: the model, wrapper and criterion SpecMapping builds lower the loss on a fixed batch.</summary>
public sealed class LossKindTrainingTests
{
    [Theory]
    [InlineData(LossSpec.CrossEntropyKind, false)]
    [InlineData(LossSpec.ClassSuppressionKind, false)]
    [InlineData(LossSpec.ClassSuppressionKind, true)]
    [InlineData(LossSpec.ScribbleRegularizedKind, true)]
    public void The_loss_falls_over_a_few_steps(string kind, bool variant)
    {
        var spec = new ExperimentSpec
        {
            Workers = 1,
            Model = new ModelSpec { Name = "encoder-decoder", Width = 4 },
            Dataset = new DatasetSpec { NumClasses = 4, Height = 32, Width = 32, TrainCount = 16, ValidationCount = 4 },
            Training = new TrainingSpec { Steps = 1000, BatchPerWorker = 4, LearningRate = 0.05 },
            Loss = new LossSpec
            {
                Kind = kind,
                ClassSuppression = new ClassSuppressionSpec { Sampling = variant ? ClassSuppressionSpec.InverseFrequency : ClassSuppressionSpec.Uniform },
                Scribble = new ScribbleLossSpec { Dynamic = variant, WarmupSteps = 2 },
            },
        };
        Assert.Empty(spec.Validate());
        var scenes = new SyntheticSceneDataset(SpecMapping.TrainData(spec));
        var frequencies = ClassFrequencies.Measure(scenes);
        // As the worker's training source: scribbles drawn from the masks where the loss trains on scribbles.
        ISegmentationDataset dataset = SpecMapping.TrainingScribbles(spec) is { } scribbles ? new ScribbledSource(new CachedDatasetSource(scenes, 0), scribbles) : scenes;
        using var model = SpecMapping.BuildModel(spec, frequencies);
        var criterion = SpecMapping.Criterion(spec, frequencies);
        using var trainer = new DataParallelTrainer(model, criterion, SpecMapping.Optimizer(spec), new SingleRankReducer());
        using var batch = SegmentationBatch.Collate([.. Enumerable.Range(0, 4).Select(dataset.Get)], CPU);
        var losses = new List<double>();
        for (int step = 0; step < 10; step++)
        {
            LossSchedule.Apply(model, criterion, step, spec.StepsPerEpoch);
            losses.Add(trainer.Step(batch).Loss);
        }
        Assert.All(losses, l => Assert.True(double.IsFinite(l), $"loss {l}"));
        Assert.True(losses[^1] < losses[2], $"losses {string.Join(", ", losses.Select(l => l.ToString("F3")))}");  // after the warm-up switch
    }

    [Fact]
    public void The_schedule_follows_the_step()
    {
        var spec = new ExperimentSpec { Model = new ModelSpec { Width = 4 }, Loss = new LossSpec { Kind = LossSpec.ClassSuppressionKind } };
        using var model = SpecMapping.BuildModel(spec);
        LossSchedule.Apply(model, SpecMapping.Criterion(spec), step: 64, stepsPerEpoch: 128);
        Assert.Equal(0.5, ((ClassSuppressionNet)model).Epoch);

        var scribbleSpec = spec with { Loss = new LossSpec { Kind = LossSpec.ScribbleRegularizedKind, Scribble = new ScribbleLossSpec { WarmupSteps = 10 } } };
        var scribble = (ScribbleRegularizedCriterion)SpecMapping.Criterion(scribbleSpec);
        using var plain = SpecMapping.BuildModel(scribbleSpec);
        LossSchedule.Apply(plain, scribble, step: 9, stepsPerEpoch: 128);
        Assert.Equal(0, scribble.RegulariserWeight);
        LossSchedule.Apply(plain, scribble, step: 10, stepsPerEpoch: 128);
        Assert.Equal(8.6, scribble.RegulariserWeight);
    }
}
