using SegCluster.Tests.Shared;
using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Debiasing;

public class ClassSuppressionNetTests
{
    [Theory]
    [InlineData("spgnet")]
    [InlineData("encoder-decoder")]
    [InlineData("deeplabv3plus")]
    [InlineData("unet")]
    [InlineData("dan")]
    [InlineData("vit")]
    public void WrapsAnyModelWithAHeadAndBackwardReachesEveryParameter(string name)
    {
        using var scope = NewDisposeScope();
        using var model = new ClassSuppressionNet(TestData.Model(name, 4, 8, NormKind.BatchNorm), new ClassSuppressionOptions(EndEpoch: 1, TotalEpochs: 2));
        model.Epoch = 1;  // p = 1: a class is always dropped; λ = 0.5
        model.train();
        var images = randn(2, 3, 16, 16);
        var output = model.forward(images);
        Assert.Equal(new long[] { 2, 4, 16, 16 }, output.Logits.shape);
        var branch = Assert.IsType<ClassSuppressionBranch>(output.Suppression);
        Assert.InRange(branch.DroppedClass, 0, 3);
        Assert.Equal(0.5, branch.PlainWeight);
        var labels = randint(0, 4, [2, 16, 16], dtype: ScalarType.Int64);
        new ClassSuppressionCriterion(new LossOptions(), model.Suppression).Forward(output, labels, images).backward();
        Assert.All(model.parameters(), p => Assert.True(p.grad is not null, "a parameter got no gradient"));
    }

    [Fact]
    public void MaskIsTheMeanReluImportanceOfTheKeptClasses()
    {
        using var scope = NewDisposeScope();
        using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 3, 8, NormKind.None), new ClassSuppressionOptions());
        model.eval();
        var images = randn(1, 3, 16, 16);
        using var noGrad = no_grad();
        Assert.Null(model.forward(images).Suppression);  // eval: no training extras, logits = drop branch with nothing dropped
        // Distinct class rows: dropping class 1 changes the mask mean_{k≠1} ReLU(W_k) and so the logits.
        Assert.False(model.Forward(images, 1).Logits.allclose(model.Forward(images, -1).Logits));
        // Identical rows: mean_{k≠d} ReLU(W_k) = mean_k ReLU(W_k), so dropping changes nothing.
        var weight = model.Head.Weight;  // (K, D, 1, 1)
        weight.copy_(weight[0].unsqueeze(0).expand_as(weight));
        Assert.True(model.Forward(images, 1).Logits.allclose(model.Forward(images, -1).Logits, rtol: 1e-5, atol: 1e-6));
        // The ReLU on W is pinned by value in ChannelMaskOnAHandCase (a check here passed without it).
    }

    /// <summary>
    /// PAPERS.md §4's mask mean_{k≠d} ReLU(W_k) by hand, K = 3 classes, D = 2 channels, W = [[1, −2], [3, 1], [−1, 4]]:
    /// ReLU(W) = [[1, 0], [3, 1], [0, 4]]; dropping class 1 keeps rows 0 and 2: [(1 + 0)/2, (0 + 4)/2] = [0.5, 2];
    /// dropping none: [(1 + 3 + 0)/3, (0 + 1 + 4)/3] = [4/3, 5/3]. Without the ReLU they would be [0, 1] and [1, 1].
    /// </summary>
    [Fact]
    public void ChannelMaskOnAHandCase()
    {
        using var scope = NewDisposeScope();
        var weight = tensor(new float[] { 1, -2, 3, 1, -1, 4 }).reshape(3, 2, 1, 1);

        var dropped = ClassSuppressionNet.ChannelMask(weight, 1);
        var none = ClassSuppressionNet.ChannelMask(weight, -1);

        Assert.Equal(new long[] { 1, 2, 1, 1 }, dropped.shape);
        AssertValues([0.5, 2.0], dropped);
        AssertValues([4 / 3.0, 5 / 3.0], none);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClassSuppressionNet.ChannelMask(weight, 3));
    }

    private static void AssertValues(double[] expected, Tensor actual)
    {
        var values = actual.flatten().data<float>().ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], values[i], 6);
    }

    /// <summary>The drop branch is the classifier on relu(BN(conv1×1(A ⊙ ChannelMask(W, d)))), A the wrapped model's feature.</summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void TheDropBranchMasksTheFeatureWithTheChannelMask(int droppedClass)
    {
        using var scope = NewDisposeScope();
        using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 3, 4, NormKind.None), new ClassSuppressionOptions());
        model.eval();
        using var noGrad = no_grad();
        model.Head.Weight[1] = -model.Head.Weight[1].abs();  // a class whose importance the ReLU clips
        var images = randn(1, 3, 16, 16);
        var inner = (SegmentationModel)model.named_children().Single(c => c.name == "inner").module;
        var suppression = (nn.Module<Tensor, Tensor>)model.named_children().Single(c => c.name == "suppression").module;

        var feature = inner.call(images).Feature!;                                       // A (1, D, 16, 16)
        var expected = model.Head.call(suppression.call(feature * ClassSuppressionNet.ChannelMask(model.Head.Weight, droppedClass)), [16, 16]);

        Assert.True(model.Forward(images, droppedClass).Logits.allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    /// <summary>p = min(1, epoch / E_end) and λ = max(0, 1 − epoch / E), with E_end = 4 ≠ E = 8 so the two cannot be swapped.</summary>
    [Theory]
    [InlineData(0.0, 0.0, 1.0)]
    [InlineData(1.0, 0.25, 0.875)]
    [InlineData(3.0, 0.75, 0.625)]
    [InlineData(6.0, 1.0, 0.25)]      // past E_end: p stays 1
    [InlineData(10.0, 1.0, 0.0)]      // past E: λ stays 0
    public void DropProbabilityAndPlainWeightFollowTheEpoch(double epoch, double p, double lambda)
    {
        using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 3, 4, NormKind.None), new ClassSuppressionOptions(EndEpoch: 4, TotalEpochs: 8));
        model.Epoch = epoch;
        Assert.Equal(p, model.DropProbability, 12);
        Assert.Equal(lambda, model.PlainWeight, 12);
    }

    /// <summary>Training forwards drop a class at rate p and report λ: at epoch ≈ 1 of E_end = 4, E = 8, p ≈ 0.25 and λ ≈ 0.875.</summary>
    [Fact]
    public void TrainingForwardsDropAClassAtTheDropProbability()
    {
        using var scope = NewDisposeScope();
        using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 3, 4, NormKind.None), new ClassSuppressionOptions(EndEpoch: 4, TotalEpochs: 8, Seed: 4));
        model.train();
        using var noGrad = no_grad();
        var images = randn(1, 3, 16, 16);
        const int draws = 200;
        int dropped = 0;
        for (int i = 0; i < draws; i++)
        {
            model.Epoch = 1 + i * 1e-6;  // a new draw per step, p and λ the same to 6 digits
            var branch = model.forward(images).Suppression!;
            if (branch.DroppedClass >= 0) dropped++;
            Assert.Equal(1 - model.Epoch / 8, branch.PlainWeight, 12);
        }
        Assert.InRange(dropped, 30, 70);  // 200 · 0.25 = 50, σ ≈ 6.1
    }

    [Fact]
    public void AResumedRunDropsTheClassesTheUninterruptedRunDropped()
    {
        // The trainer sets the epoch before each step (LossSchedule); a resumed model starts at step 6 with a fresh sampler.
        static int[] Drops(int fromStep)
        {
            using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 5, 4, NormKind.None), new ClassSuppressionOptions(EndEpoch: 2, Seed: 11));
            model.train();
            using var scope = NewDisposeScope();
            var drops = new List<int>();
            for (int step = fromStep; step < 12; step++)
            {
                model.Epoch = step / 4.0;
                for (int micro = 0; micro < 2; micro++) drops.Add(model.forward(randn(1, 3, 16, 16)).Suppression!.DroppedClass);
            }
            return [.. drops];
        }

        var uninterrupted = Drops(0);
        Assert.Equal(uninterrupted[12..], Drops(6));
        Assert.True(uninterrupted.Distinct().Count() >= 4, $"draws {string.Join(",", uninterrupted)}: the sampler hardly varies");
        Assert.Contains(-1, uninterrupted[..8]);  // p = epoch / 2 < 1 early on: some steps drop nothing
    }

    /// <summary>The trainer runs k forwards per optimizer step and documents them as one k-times larger batch; PAPERS.md §4
    /// samples one class per iteration. Each micro-batch used to draw its own class.</summary>
    [Fact]
    public void TheMicroBatchesOfOneAccumulatedStepDropTheSameClass()
    {
        using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 4, 4, NormKind.GroupNorm), new ClassSuppressionOptions(EndEpoch: 1, Seed: 2));
        var recorder = new DroppedClassRecorder(new ClassSuppressionCriterion(new LossOptions(), model.Suppression));
        using var trainer = new DataParallelTrainer(model, recorder, new OptimizerOptions(LearningRate: 0.01, AccumulationSteps: 2), new SingleRankReducer());
        using var batch = TestData.Batch(new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 4, Height: 32, Width: 32, Count: 4, Seed: 3)), [0, 1, 2, 3]);
        const int steps = 6;
        for (int step = 0; step < steps; step++)
        {
            model.Epoch = 1 + step / (double)steps;  // p = 1; set once per optimizer step, as LossSchedule does
            trainer.Step(batch);
        }
        var drops = string.Join(",", recorder.Dropped);
        Assert.Equal(2 * steps, recorder.Dropped.Count);
        Assert.All(recorder.Dropped.Chunk(2), pair => Assert.True(pair[0] == pair[1], $"micro-batch drops {drops}: one step dropped two classes"));
        Assert.True(recorder.Dropped.Distinct().Count() > 1, $"micro-batch drops {drops}: every step dropped the same class");
    }

    [Fact]
    public void InverseFrequencySamplingPrefersRareClasses()
    {
        using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 3, 4, NormKind.None),
            new ClassSuppressionOptions(EndEpoch: 1, ClassFrequencies: [0.90, 0.09, 0.01], Seed: 3));
        var shares = model.DropShares;  // ∝ 1 / f (§4): 0.010, 0.099, 0.891
        Assert.True(shares[2] > shares[1] && shares[1] > shares[0], $"shares {string.Join(",", shares)}");
        const int draws = 300;
        var counts = TestData.DropCounts(model, draws);  // p = 1
        Assert.All(Enumerable.Range(0, 3), k => Assert.InRange(counts[k] / (double)draws, shares[k] - 0.08, shares[k] + 0.08));
        Assert.Equal(0.9 / 0.01, shares[2] / shares[0], 6);  // the paper's ratio, unsmoothed by default

        // β smooths towards uniform: 1 / (f + β/K).
        var smoothed = new ClassSuppressionOptions(ClassFrequencies: [0.90, 0.09, 0.01], FrequencyPrior: 1).DropShares(3);
        Assert.Equal((0.9 + 1 / 3.0) / (0.01 + 1 / 3.0), smoothed[2] / smoothed[0], 6);
        Assert.Throws<ArgumentException>(() => new ClassSuppressionOptions(FrequencyPrior: -1).Validate(3));
    }

    [Fact]
    public void ClassFrequenciesOfTheWrongLengthNameTheField()
    {
        var error = Assert.Throws<ArgumentException>(() => new ClassSuppressionOptions(ClassFrequencies: [1.0]).Validate(3));
        Assert.Contains("ClassFrequencies", error.Message);
    }
}
