using SegCluster.Vision.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training;

/// <summary>The one way a parameter is substituted for forward calls (gradient buckets' aliases, mixed precision's casts).</summary>
public class ParameterFieldTests
{
    [Fact]
    public void AConvolutionsWeightAndBiasFieldsAreFoundAndAConvolutionWithoutBiasHasOnlyItsWeight()
    {
        random.manual_seed(2);
        using var withBias = nn.Conv2d(3, 4, kernel_size: 1);
        using var withoutBias = nn.Conv2d(3, 4, kernel_size: 1, bias: false);

        var fields = ParameterField.Of(withBias);
        Assert.Equal(2, fields.Count);
        Assert.Contains(fields, f => ReferenceEquals(f.Registered, withBias.weight));
        Assert.Contains(fields, f => ReferenceEquals(f.Registered, withBias.bias));
        Assert.All(fields, f => Assert.Same(withBias, f.Owner));
        Assert.Same(withoutBias.weight, Assert.Single(ParameterField.Of(withoutBias)).Registered);
        Assert.Empty(ParameterField.Of(nn.ReLU()));
    }

    [Fact]
    public void WritingAFieldChangesWhatForwardUsesAndNotTheRegisteredParameter()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        using var conv = nn.Conv2d(2, 2, kernel_size: 1, bias: false);
        var weight = Assert.Single(ParameterField.Of(conv));
        var master = conv.weight!;
        var input = randn(1, 2, 3, 3);
        var expected = conv.call(input);

        using var doubled = new Parameter(master.detach() * 2);
        weight.Value = doubled;
        var substituted = conv.call(input);
        Assert.Same(master, conv.parameters().Single());  // the registered parameter and state dict are untouched
        Assert.Same(doubled, weight.Value);
        weight.Value = master;

        Assert.True((substituted - 2 * expected).abs().max().item<float>() < 1e-5f, "forward did not read the substituted weight");
        Assert.True(conv.call(input).equal(expected).all().item<bool>(), "forward after restoring differs");
    }
}
