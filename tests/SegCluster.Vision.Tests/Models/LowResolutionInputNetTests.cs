using SegCluster.Vision.Data;
using SegCluster.Vision.Labels;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

/// <summary>
/// PAPERS.md §3's low-resolution training: the network is fed the image area-down-sampled by f, trained against labels
/// built from the full-resolution mask at its output size, and evaluated at full resolution on its upsampled logits.
/// </summary>
public class LowResolutionInputNetTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private static LowResolutionInputNet Model(string name, int factor, int classes = 3)
    {
        random.manual_seed(3);
        return new LowResolutionInputNet(ModelRegistry.Create(new ModelOptions(name, NumClasses: classes, Width: 4, Norm: NormKind.GroupNorm)), factor);
    }

    /// <summary>Every convolution that reads the RGB image gets (B, 3, H/f, W/f), the mean of each f×f block (avg_pool2d), and
    /// the training logits are the network's own on that image: (B, K, H/f, W/f).</summary>
    [Theory]
    [InlineData("spgnet", 2)]
    [InlineData("spgnet", 4)]
    [InlineData("encoder-decoder", 4)]
    [InlineData("deeplabv3plus", 2)]
    public void TheNetworkReceivesTheImageAreaDownsampledByTheFactor(string name, int factor)
    {
        using var model = Model(name, factor, classes: 5);  // 5 classes: no convolution but the stems reads 3 channels (SPG's reads K)
        using var scope = NewDisposeScope();
        var images = randn(2, 3, 64, 64);
        var rgbInputs = new List<long[]>();
        var removers = new List<Action>();
        foreach (var conv in model.modules().OfType<TorchSharp.Modules.Conv2d>().Where(c => c.weight!.shape[1] == 3))
            removers.Add(conv.register_forward_hook((_, input, output) =>
            {
                rgbInputs.Add(input.shape);
                return output;
            }).remove);
        model.train();
        var output = model.forward(images);
        removers.ForEach(remove => remove());

        Assert.NotEmpty(rgbInputs);
        Assert.All(rgbInputs, shape => Assert.Equal(new long[] { 2, 3, 64 / factor, 64 / factor }, shape));
        Assert.Equal(new long[] { 2, 5, 64 / factor, 64 / factor }, output.Logits.shape);
        var expected = model.Inner.forward(nn.functional.avg_pool2d(images, factor, factor)).Logits;
        Assert.True(output.Logits.allclose(expected, rtol: 1e-5, atol: 1e-6), "the logits are not the network's on the area-down-sampled image");
        Assert.Equal(model.Inner.OutputStride * factor, model.OutputStride);  // inputs must be multiples of f × the network's stride
    }

    /// <summary>The loss targets are the soft labels of the FULL-resolution mask at the network's output grid (not labels of a
    /// down-sampled mask), and a forward/backward reaches every parameter.</summary>
    [Fact]
    public void TheLossTargetsAreSoftLabelsOfTheFullMaskAndBackwardReachesEveryParameter()
    {
        const int factor = 4;
        using var model = Model("spgnet", factor);
        using var scope = NewDisposeScope();
        var images = randn(2, 3, 64, 64);
        var labels = randint(0, 3, [2, 64, 64], dtype: ScalarType.Int64);
        labels[0, 0] = tensor(255L);
        model.train();
        var output = model.forward(images);
        var criterion = new SegmentationCriterion(new LossOptions(AuxiliaryWeight: 0, Labels: new LabelOptions(LabelMode.SoftCrossEntropy, factor)));
        var terms = criterion.Terms(output, labels);
        var (expected, mass) = SoftCrossEntropyLoss.Terms(output.Logits, new SoftLabelDownsampler(3).Downsample(labels, factor));
        Assert.Equal(expected.item<float>(), terms.Sums[0].item<float>(), 1e-3);
        Assert.Equal(mass.item<double>(), terms.ReadCounts()[0], 1e-6);
        Assert.Equal(2 * 64 * 64 - 64, mass.item<double>() * factor * factor, 1e-3);  // the full mask's valid pixels, 16 per cell

        new SegmentationCriterion(new LossOptions(Labels: new LabelOptions(LabelMode.SoftCrossEntropy, factor))).Forward(output, labels).backward();
        Assert.All(model.parameters(), p => Assert.True(p.grad is not null, "a parameter got no gradient"));
    }

    /// <summary>Evaluation feeds the down-sampled image too, upsamples the logits bilinearly to (H, W) and scores them
    /// against every valid pixel of the full-resolution labels.</summary>
    [Fact]
    public void EvaluationScoresTheUpsampledLogitsAgainstFullResolutionLabels()
    {
        const int factor = 4;
        using var model = Model("spgnet", factor);
        var dataset = new SyntheticSceneDataset(new SyntheticSceneOptions(NumClasses: 3, Height: 64, Width: 64, Count: 2));
        var confusion = Evaluator.EvaluateConfusion(model, dataset, [0, 1], 2, CPU);

        using var scope = NewDisposeScope();
        using var batch = TestData.Batch(dataset, [0, 1]);
        Assert.Equal(batch.Labels.ne(tensor(255L)).sum().item<long>(), confusion.Counts.Sum());  // every full-resolution valid pixel
        model.eval();
        using var noGrad = no_grad();
        var logits = model.forward(batch.Images).Logits;  // (2, 3, 64, 64)
        Assert.Equal(new long[] { 2, 3, 64, 64 }, logits.shape);
        var low = model.Inner.forward(nn.functional.avg_pool2d(batch.Images, factor, factor)).Logits;  // (2, 3, 16, 16)
        var upsampled = nn.functional.interpolate(low, [64, 64], mode: InterpolationMode.Bilinear, align_corners: false);
        Assert.True(logits.allclose(upsampled, rtol: 1e-5, atol: 1e-6));
        var expected = new SegCluster.Vision.Metrics.ConfusionMatrix(3);
        expected.Add(upsampled.argmax(1), batch.Labels);
        Assert.Equal(expected.Counts, confusion.Counts);
    }

    /// <summary>The memory claim's mechanism (PAPERS.md §3): every convolution runs on an f-times smaller grid per side, so
    /// the activations backward keeps shrink by about f² when f × the stride divides the image; §2's label grid
    /// (full-resolution input, decoder stopped at the grid) saves only the decoder's fine levels.</summary>
    [Theory]
    [InlineData("spgnet", 2)]
    [InlineData("spgnet", 4)]
    [InlineData("deeplabv3plus", 4)]
    public void ActivationMemoryFallsByTheFactorSquared(string name, int factor)
    {
        random.manual_seed(3);
        using var full = ModelRegistry.Create(new ModelOptions(name, NumClasses: 6, Width: 8));
        using var grid = ModelRegistry.Create(new ModelOptions(name, NumClasses: 6, Width: 8, LogitFactor: factor));
        using var low = new LowResolutionInputNet(ModelRegistry.Create(new ModelOptions(name, NumClasses: 6, Width: 8)), factor);
        long fullBytes = ActivationFootprint.ConvOutputBytes(full, 64, 64);
        long gridBytes = ActivationFootprint.ConvOutputBytes(grid, 64, 64);
        long lowBytes = ActivationFootprint.ConvOutputBytes(low, 64, 64);
        log.WriteLine($"{name} f = {factor}: conv outputs per 64x64 image {fullBytes} B full resolution, {gridBytes} B label grid (§2), {lowBytes} B low-resolution input (§3)");
        // f² exactly where every conv output scales with the input (spgnet); DeepLabV3+'s ASPP image-pooling branch is
        // 1×1 at any input, so its ratio is slightly below f² (15.9 at f = 4).
        Assert.InRange((double)fullBytes / lowBytes, 0.97 * factor * factor, factor * factor);
        Assert.True(lowBytes < gridBytes);
    }

    [Fact]
    public void ANetworkThatStopsAtALabelGridOrAFactorOfOneIsRefused()
    {
        using var atGrid = ModelRegistry.Create(new ModelOptions("spgnet", NumClasses: 3, Width: 4, LogitFactor: 4));
        Assert.Contains("LogitFactor = 1", Assert.Throws<ArgumentException>(() => new LowResolutionInputNet(atGrid, 4)).Message);
        using var plain = ModelRegistry.Create(new ModelOptions("spgnet", NumClasses: 3, Width: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LowResolutionInputNet(plain, 1));
    }
}
