using SegCluster.Vision.Data;
using SegCluster.Vision.Models;
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
}
