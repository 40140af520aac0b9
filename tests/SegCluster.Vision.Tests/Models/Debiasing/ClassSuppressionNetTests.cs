using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Debiasing;

public class ClassSuppressionNetTests
{
    [Theory]
    [InlineData("spgnet")]
    [InlineData("encoder-decoder")]
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
        // Negative importance is clipped: with W_1 all negative, dropping 1 is a rescale by K / (K − 1) of the mask,
        // which differs from the undropped mask; with W_1 = ReLU-equal rows it did not (above).
        weight[1] = -weight[1].abs();
        Assert.False(model.Forward(images, 1).Logits.allclose(model.Forward(images, -1).Logits));
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

    [Fact]
    public void InverseFrequencySamplingPrefersRareClasses()
    {
        using var model = new ClassSuppressionNet(TestData.Model("encoder-decoder", 3, 4, NormKind.None),
            new ClassSuppressionOptions(EndEpoch: 1, ClassFrequencies: [0.90, 0.09, 0.01], Seed: 3));
        model.Epoch = 1;
        model.train();
        var counts = new int[3];
        using var scope = NewDisposeScope();
        for (int i = 0; i < 40; i++)
            counts[model.forward(randn(1, 3, 16, 16)).Suppression!.DroppedClass]++;
        Assert.True(counts[2] > counts[1] && counts[1] >= counts[0], $"counts {string.Join(",", counts)}");
    }

    [Fact]
    public void ClassFrequenciesOfTheWrongLengthNameTheField()
    {
        var error = Assert.Throws<ArgumentException>(() => new ClassSuppressionOptions(ClassFrequencies: [1.0]).Validate(3));
        Assert.Contains("ClassFrequencies", error.Message);
    }
}
