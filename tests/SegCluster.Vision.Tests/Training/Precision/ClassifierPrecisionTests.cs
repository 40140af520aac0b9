using SegCluster.Vision.Models;
using SegCluster.Vision.Training.Precision;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Training.Precision;

/// <summary>
/// bf16-mixed returns fp32 from the classifiers only (the head's and SPG's prediction P), not from a hidden
/// convolution that happens to have K output channels.
/// </summary>
public class ClassifierPrecisionTests(ITestOutputHelper output)
{
    public static TheoryData<string> Models => new(ModelRegistry.Names);

    [Theory]
    [MemberData(nameof(Models))]
    public void OnlyTheClassifiersReturnFp32WhenAHiddenConvolutionHasKChannels(string name)
    {
        int k = FirstHiddenWidth(name);
        random.manual_seed(3);
        using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: k, Width: 8, NormKind.None));
        using var policy = MixedPrecisionPolicy.Attach(model, new PrecisionOptions(PrecisionMode.Bf16Mixed));
        var classifiers = model.Classifiers.ToHashSet(ReferenceEqualityComparer.Instance);
        var outputTypes = new Dictionary<string, ScalarType>();
        var convolutions = model.named_modules().Where(m => m.module is Conv2d).Select(m => (m.name, Conv: (Conv2d)m.module)).ToList();
        foreach (var (convName, conv) in convolutions)  // after the policy's hooks, so they see its output
            conv.register_forward_hook((_, _, result) => { outputTypes[convName] = result.dtype; return result; });

        using (var scope = NewDisposeScope())
        using (no_grad())
            model.call(randn(2, 3, 32, 32));

        var classifierNames = convolutions.Where(c => classifiers.Contains(c.Conv)).Select(c => c.name).ToList();
        var hidden = convolutions.Where(c => !classifiers.Contains(c.Conv) && c.Conv.out_channels == k).Select(c => c.name).ToList();
        output.WriteLine($"{name}, K = {k}: classifiers {string.Join(", ", classifierNames)}; hidden K-channel convolutions {string.Join(", ", hidden)}");
        Assert.Equal(name == "spgnet" ? ["spg.predict", "head.classifier"] : ["head.classifier"], classifierNames);
        Assert.NotEmpty(hidden);
        Assert.All(classifierNames, c => Assert.Equal(ScalarType.Float32, outputTypes[c]));
        Assert.All(hidden, c => Assert.Equal(ScalarType.BFloat16, outputTypes[c]));
    }

    /// <summary>Output channels of the model's first convolution that is not a classifier (K does not change it).</summary>
    private static int FirstHiddenWidth(string name)
    {
        random.manual_seed(3);
        using var model = ModelRegistry.Create(new ModelOptions(name, NumClasses: 4, Width: 8, NormKind.None));
        var classifiers = model.Classifiers.ToHashSet(ReferenceEqualityComparer.Instance);
        return (int)model.modules().OfType<Conv2d>().First(c => !classifiers.Contains(c)).out_channels;
    }
}
