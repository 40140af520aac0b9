using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using SegCluster.Vision.Training.Optimizers;

namespace SegCluster.Vision.Tests.Training;

/// <summary>Poly schedule and warm-up against their formulas; clipping, AdamW and the decay mask in the trainer.</summary>
public sealed class OptimizerScheduleTests
{
    private static readonly SyntheticSceneDataset Scenes = new(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 16, Seed: 3));

    [Theory]
    [InlineData(0, 0.01)]
    [InlineData(50, 0.005358867)]   // 0.01 · 0.5^0.9
    [InlineData(90, 0.0012589254)]  // 0.01 · 0.1^0.9
    [InlineData(100, 0.0)]
    public void Poly_decays_to_the_minimum_at_the_horizon(long step, double expected) =>
        Assert.Equal(expected, new LearningRateSchedule().At(0.01, step, 100), 8);

    [Fact]
    public void Poly_with_a_minimum_and_linear_warmup_match_mmseg()
    {
        var schedule = new LearningRateSchedule(MinLearningRate: 1e-4, WarmupSteps: 10, WarmupRatio: 0.1);
        double Poly(long t) => (0.01 - 1e-4) * Math.Pow(1 - t / 100.0, 0.9) + 1e-4;
        Assert.Equal(Poly(0) * 0.1, schedule.At(0.01, 0, 100), 10);
        Assert.Equal(Poly(5) * (1 - 0.5 * 0.9), schedule.At(0.01, 5, 100), 10);
        Assert.Equal(Poly(10), schedule.At(0.01, 10, 100), 10);
        Assert.Equal(0.01, new LearningRateSchedule(LearningRateSchedule.Constant).At(0.01, 70, 100), 12);
    }

    [Theory]
    [InlineData("cosine", 0.9, 0, 1e-6, "lr_policy")]
    [InlineData("poly", -1, 0, 1e-6, "poly_power")]
    [InlineData("poly", 0.9, -3, 1e-6, "warmup_steps")]
    [InlineData("poly", 0.9, 5, 0, "warmup_ratio")]
    public void Bad_schedules_name_the_field(string policy, double power, int warmup, double ratio, string field)
    {
        var error = Assert.Throws<ArgumentException>(() => new LearningRateSchedule(policy, power, 0, warmup, ratio).Validate());
        Assert.StartsWith(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_trainer_steps_with_the_scheduled_rate()
    {
        var options = new OptimizerOptions(LearningRate: 0.02, Schedule: new LearningRateSchedule(WarmupSteps: 2, WarmupRatio: 0.5), TotalSteps: 4);
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), options, new SingleRankReducer());
        using var batch = TestData.Batch(Scenes, [0, 1]);
        for (long step = 0; step < 3; step++)
            Assert.Equal(options.LearningRateAt(step), trainer.Step(batch).LearningRate, 12);
        Assert.Equal(0.02 * Math.Pow(0.75, 0.9) * (1 - 0.5 * 0.5), options.LearningRateAt(1), 12);  // warm-up factor 1 − (1 − 1/2)(1 − 0.5)
    }

    [Fact]
    public void Clipping_limits_the_first_sgd_update_to_lr_times_max_norm()
    {
        const double lr = 0.1, maxNorm = 1e-3;
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm);
        var before = Flat(model);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()),
            new OptimizerOptions(LearningRate: lr, WeightDecay: 0, MaxGradientNorm: maxNorm), new SingleRankReducer());
        using var batch = TestData.Batch(Scenes, [0, 1]);
        var result = trainer.Step(batch);
        Assert.True(result.GradientNorm > 100 * maxNorm, $"gradient norm {result.GradientNorm} too small for the test to clip");
        var moved = Math.Sqrt(before.Zip(Flat(model), (a, b) => (double)(a - b) * (a - b)).Sum());
        Assert.Equal(lr * maxNorm, moved, 1e-6);
    }

    [Fact]
    public void AdamW_first_step_moves_each_weight_by_about_the_learning_rate()
    {
        var (slices, weights) = Parameters([1f, -2f, 0.5f], decay: [0, 0, 0]);
        using var optimizer = new AdamW(slices);
        optimizer.Step(Gradients(slices, 0.3f, -4f, 1e-3f), 0.01f);
        var values = weights();
        // m̂ = g, v̂ = g²: the update is lr · g / (|g| + ε)
        Assert.Equal(1f - 0.01f, values[0], 5);
        Assert.Equal(-2f + 0.01f, values[1], 5);
        Assert.Equal(0.5f - 0.01f * 1e-3f / (1e-3f + 1e-8f), values[2], 5);
        Assert.Equal(6, optimizer.StateLength);
    }

    [Fact]
    public void Decoupled_decay_and_the_norm_and_bias_exemption()
    {
        var (slices, weights) = Parameters([1f, 1f], decay: [0.1, 0]);
        using var optimizer = new AdamW(slices);
        optimizer.Step(Gradients(slices, 0f, 0f), 0.5f);
        Assert.Equal(1f - 0.5f * 0.1f, weights()[0], 6);  // p −= lr·wd·p, the gradient term is 0
        Assert.Equal(1f, weights()[1], 6);

        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm);
        var oneDimensional = model.parameters().Where(p => p.requires_grad).Select(p => p.dim() <= 1).ToArray();
        Assert.Contains(true, oneDimensional);
        Assert.Contains(false, oneDimensional);
    }

    /// <summary>PyTorch SGD: buf = d = g + wd·p on the first step, then μ·buf + d; p −= lr·buf. Snapshot and restore carry buf.</summary>
    [Fact]
    public void Sgd_momentum_follows_pytorch_and_its_state_round_trips()
    {
        var (slices, weights) = Parameters([1f, -1f], decay: [0.1, 0]);
        using var optimizer = new SgdMomentum(slices, momentum: 0.9);
        optimizer.Step(Gradients(slices, 0.5f, 0.5f), 0.1f);
        float buf0 = 0.5f + 0.1f * 1f, buf1 = 0.5f;
        Assert.Equal(1f - 0.1f * buf0, weights()[0], 6);
        Assert.Equal(-1f - 0.1f * buf1, weights()[1], 6);
        float p0 = weights()[0];
        optimizer.Step(Gradients(slices, 0.5f, 0.5f), 0.1f);
        buf0 = 0.9f * buf0 + 0.5f + 0.1f * p0;
        Assert.Equal(p0 - 0.1f * buf0, weights()[0], 6);
        Assert.Equal(new[] { buf0, 0.9f * buf1 + 0.5f }, optimizer.Snapshot(), new FloatTolerance(1e-6f));

        var (others, _) = Parameters([0f, 0f], decay: [0, 0]);
        using var restored = new SgdMomentum(others, momentum: 0.9);
        restored.Restore(optimizer.Snapshot(), optimizer.AppliedSteps);
        Assert.Equal(2, restored.AppliedSteps);
        Assert.Equal(optimizer.Snapshot(), restored.Snapshot());
        Assert.Throws<ArgumentException>(() => restored.Restore(new float[3], 0));
    }

    /// <summary>One parameter per value (so each can have its own decay), and a reader of their current values.</summary>
    private static (ParameterSlice[] Slices, Func<float[]> Weights) Parameters(float[] values, double[] decay)
    {
        var parameters = values.Select(v => new TorchSharp.Modules.Parameter(TorchSharp.torch.tensor(new[] { v }))).ToArray();
        int next = 0;  // Layout asks in parameter order (Tensor.Equals compares values, so no IndexOf)
        var slices = ParameterSlice.Layout(parameters, _ => decay[next++]);
        return (slices, () => parameters.Select(p => p.detach().data<float>()[0]).ToArray());
    }

    /// <summary>The optimiser's input: each parameter's view of one flat gradient.</summary>
    private static TorchSharp.torch.Tensor[] Gradients(ParameterSlice[] slices, params float[] values) =>
        FlatState.Views(TorchSharp.torch.tensor(values), slices);

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }

    /// <summary>Without batch statistics and with equal valid-pixel counts per micro-batch, 2 × 2 images equal one batch of 4.</summary>
    [Fact]
    public void Accumulating_two_micro_batches_equals_the_double_batch()
    {
        using var whole = TestData.Model("spgnet", 4, 8, NormKind.GroupNorm, seed: 4);
        using var accumulated = TestData.Model("spgnet", 4, 8, NormKind.GroupNorm, seed: 4);
        var criterion = new SegmentationCriterion(new LossOptions());
        using var one = new DataParallelTrainer(whole, criterion, new OptimizerOptions(LearningRate: 0.05), new SingleRankReducer());
        using var two = new DataParallelTrainer(accumulated, criterion, new OptimizerOptions(LearningRate: 0.05, AccumulationSteps: 2), new SingleRankReducer());
        var initial = Flat(whole);
        for (int step = 0; step < 3; step++)
        {
            using var batch = TestData.Batch(Scenes, [4 * step, 4 * step + 1, 4 * step + 2, 4 * step + 3]);
            using (TorchSharp.torch.no_grad())
                batch.Labels.masked_fill_(batch.Labels.eq(255), 0);  // no ignore pixels: equal counts per micro-batch
            Assert.Equal(one.Step(batch).Loss, two.Step(batch).Loss, 5);
        }
        var expected = Flat(whole);
        var actual = Flat(accumulated);
        double Norm(IEnumerable<double> v) => Math.Sqrt(v.Sum(x => x * x));
        var moved = Norm(expected.Zip(initial, (a, b) => (double)a - b));
        var error = Norm(expected.Zip(actual, (a, b) => (double)a - b)) / Norm(expected.Select(x => (double)x));
        Assert.True(moved > 1e-3, $"parameters barely moved ({moved})");
        Assert.True(error < 1e-5, $"relative L2 difference {error:E2}");
        Assert.Throws<ArgumentException>(() => new DataParallelTrainer(whole, criterion, new OptimizerOptions(AccumulationSteps: 3), new SingleRankReducer())
            .Step(TestData.Batch(Scenes, [0, 1])));
    }

    private static float[] Flat(SegmentationModel model) =>
        model.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();
}
