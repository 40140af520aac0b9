using SegCluster.Vision.Data;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Debiasing;
using SegCluster.Vision.Models.Scribbles;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests;

/// <summary>Small fixtures shared by the tests.</summary>
internal static class TestData
{
    public static SegmentationBatch Batch(ISegmentationDataset dataset, IEnumerable<int> indices) =>
        SegmentationBatch.Collate(indices.Select(dataset.Get).ToList(), CPU);

    /// <summary>Copies of all parameters as flat float arrays, in parameter order.</summary>
    public static float[][] Snapshot(nn.Module model) =>
        model.parameters().Select(p => p.detach().cpu().flatten().data<float>().ToArray()).ToArray();

    /// <summary>Copies every parameter and buffer of <paramref name="source"/> into <paramref name="target"/> (same architecture).</summary>
    public static void CopyWeights(nn.Module source, nn.Module target)
    {
        using var noGrad = no_grad();
        foreach (var (s, t) in source.parameters().Zip(target.parameters()))
            t.copy_(s);
        foreach (var (s, t) in source.buffers().Zip(target.buffers()))
            t.copy_(s);
    }

    public static SegmentationModel Model(string name, int numClasses, int width, NormKind norm, int seed = 1)
    {
        random.manual_seed(seed);
        return ModelRegistry.Create(new ModelOptions(name, numClasses, width, norm));
    }

    /// <summary>A small encoder-decoder (K = 3, width 8, GroupNorm) with a feature consistency head of 8 channels (PAPERS.md §5).</summary>
    public static FeatureConsistencyNet ScribbleModel(int seed) =>
        new(Model("encoder-decoder", numClasses: 3, width: 8, NormKind.GroupNorm, seed), embeddingChannels: 8);

    /// <summary>The parameters of <paramref name="model"/> under a submodule field (names starting with "<paramref name="field"/>.").</summary>
    public static List<(string Name, Tensor Parameter)> ParametersUnder(nn.Module model, string field) =>
        model.named_parameters().Where(p => p.name.StartsWith(field + ".", StringComparison.Ordinal)).Select(p => (p.name, (Tensor)p.parameter)).ToList();

    /// <summary>Σ |gradient| of a parameter; 0 when backward never reached it (no grad).</summary>
    public static float GradientMass(Tensor parameter) => parameter.grad?.abs().sum().item<float>() ?? 0;

    /// <summary>How often each class was dropped (PAPERS.md §4) over <paramref name="draws"/> training forwards, one per
    /// optimizer step (epochs 1, 1 + 1/draws, ...: p = 1 for E_end ≤ 1).</summary>
    public static int[] DropCounts(ClassSuppressionNet model, int draws)
    {
        model.train();
        var counts = new int[model.NumClasses];
        using var scope = NewDisposeScope();
        using var images = randn(1, 3, 16, 16);
        for (int i = 0; i < draws; i++)
        {
            model.Epoch = 1 + i / (double)draws;
            counts[model.forward(images).Suppression!.DroppedClass]++;
        }
        return counts;
    }
}
