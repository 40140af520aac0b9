using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

public class ModelTests
{
    [Theory]
    [InlineData("spgnet", NormKind.BatchNorm, 32, 32)]
    [InlineData("spgnet", NormKind.GroupNorm, 48, 64)]
    [InlineData("encoder-decoder", NormKind.BatchNorm, 32, 32)]
    [InlineData("encoder-decoder", NormKind.None, 48, 64)]
    public void LogitsMatchTheInputSizeAndBackwardRuns(string name, NormKind norm, int h, int w)
    {
        using var scope = NewDisposeScope();
        using var model = TestData.Model(name, numClasses: 5, width: 8, norm);
        var images = randn(2, 3, h, w);
        var output = model.forward(images);
        Assert.Equal(new long[] { 2, 5, h, w }, output.Logits.shape);
        if (name == "spgnet")
        {
            var aux = Assert.Single(output.Auxiliary);
            Assert.Equal(new long[] { 2, 5, h / 2, w / 2 }, aux.shape);  // SPG prediction at the stride-2 decoder grid
        }
        else
            Assert.Empty(output.Auxiliary);

        var labels = randint(0, 5, [2, h, w], dtype: ScalarType.Int64);
        var loss = new SegmentationCriterion(new LossOptions()).Forward(output, labels);
        loss.backward();
        Assert.All(model.parameters(), p => Assert.True(p.grad is not null, "a parameter got no gradient"));
        Assert.True(model.parameters().Sum(p => p.grad!.abs().sum().item<float>()) > 0);
    }

    [Fact]
    public void EncoderDecoderIsTheSimilarSizedCounterpart()
    {
        using var spg = TestData.Model("spgnet", 6, 16, NormKind.BatchNorm);
        using var one = TestData.Model("encoder-decoder", 6, 16, NormKind.BatchNorm);
        double ratio = (double)one.ParameterCount / spg.ParameterCount;
        Assert.InRange(ratio, 0.8, 1.2);
    }

    [Fact]
    public void WrongInputSizeSuggestsThePaddedSize()
    {
        using var model = TestData.Model("encoder-decoder", 3, 4, NormKind.None);
        using var images = zeros(1, 3, 30, 40);
        var error = Assert.Throws<ArgumentException>(() => model.forward(images));
        Assert.Contains("pad it to 32x48", error.Message);
    }

    [Fact]
    public void UnknownModelNameListsEveryValidName()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelRegistry.Create(new ModelOptions(Name: "segformer")));
        Assert.Equal("Name", error.ParamName);
        foreach (var name in ModelRegistry.Names) Assert.Contains(name, error.Message);
        Assert.Contains("spgnet", ModelRegistry.Names);
        Assert.Contains("encoder-decoder", ModelRegistry.Names);
    }

    [Theory]
    [InlineData(1, 16, "NumClasses")]
    [InlineData(256, 16, "NumClasses")]
    [InlineData(6, 2, "Width")]
    public void ModelOptionsValidationNamesTheField(int classes, int width, string field)
    {
        var error = Assert.Throws<ArgumentException>(() => new ModelOptions(NumClasses: classes, Width: width).Validate());
        Assert.Equal(field, error.ParamName);
        Assert.Contains($"ModelOptions.{field}", error.Message);
    }
}
