using TorchSharp.Modules;

namespace SegCluster.Vision.Models.Heads;

/// <summary>
/// A module whose <see cref="Classifier"/> maps features to the K class logits: the final head, or an auxiliary
/// prediction such as SPG's P (PAPERS.md §1). Lets code that treats logits specially (mixed precision returns them in
/// fp32) find them by structure rather than by channel count, which a hidden layer may share.
/// </summary>
public interface IClassifierOwner
{
    /// <summary>The 1×1 convolution to K channels, (K, D, 1, 1) weight.</summary>
    Conv2d Classifier { get; }
}
