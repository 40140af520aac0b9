using SegCluster.Abstractions.Specs;
using SegCluster.Cluster.Training;
using SegCluster.Tests.Shared;
using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Loading;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Cluster.Tests.Specs;

/// <summary>Every loss.kind trains from its spec: the model, wrapper and criterion SpecMapping builds lower the loss on a fixed batch.
/// Class suppression's step loss is a different objective each step (the dropped class sets its terms: dropping the
/// background adds up to 10 × its pixel share), so there the loss averaged over every choice of d must fall.</summary>
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
                // 4 steps per epoch: p = 1 from step 2 on and λ falls to 0.55 by step 9, so classes are really dropped (the
                // run-length defaults, E_end = E = 250 epochs, gave p < 0.01 over these 10 steps: plain CE).
                ClassSuppression = new ClassSuppressionSpec
                {
                    Sampling = variant ? ClassSuppressionSpec.InverseFrequency : ClassSuppressionSpec.Uniform, EndEpoch = 0.5, TotalEpochs = 5,
                },
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
        var recorder = new DroppedClassRecorder(criterion);
        using var trainer = new DataParallelTrainer(model, recorder, SpecMapping.Optimizer(spec), new SingleRankReducer());
        using var batch = SegmentationBatch.Collate([.. Enumerable.Range(0, 4).Select(dataset.Get)], CPU);
        const int steps = 10;
        var suppression = model as ClassSuppressionNet;
        if (suppression is not null) suppression.Epoch = (steps - 1) / (double)spec.StepsPerEpoch;  // λ of the last step
        var before = suppression is null ? 0 : LossOverEveryDrop(suppression, (ClassSuppressionCriterion)criterion, batch);
        var losses = new List<double>();
        for (int step = 0; step < steps; step++)
        {
            LossSchedule.Apply(model, criterion, step, spec.StepsPerEpoch);
            losses.Add(trainer.Step(batch).Loss);
        }
        Assert.All(losses, l => Assert.True(double.IsFinite(l), $"loss {l}"));
        var trace = $"losses {string.Join(", ", losses.Select(l => l.ToString("F3")))}; dropped {string.Join(",", recorder.Dropped)}";
        if (suppression is null)
        {
            Assert.True(losses[^1] < losses[2], trace);  // after the warm-up switch
            return;
        }
        Assert.All(recorder.Dropped[2..], d => Assert.True(d >= 0, $"{trace}: p = 1 dropped nothing"));
        var after = LossOverEveryDrop(suppression, (ClassSuppressionCriterion)criterion, batch);
        Assert.True(after < before, $"{trace}; mean loss over every d {before:F3} -> {after:F3}");
    }

    /// <summary>The class-suppression loss on <paramref name="batch"/> averaged over d = none and every class, at the model's epoch.</summary>
    private static double LossOverEveryDrop(ClassSuppressionNet model, ClassSuppressionCriterion criterion, SegmentationBatch batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.train();
        return Enumerable.Range(-1, model.NumClasses + 1)
            .Average(d => criterion.Forward(model.Forward(batch.Images, d), batch.Labels, batch.Images).item<float>());
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
