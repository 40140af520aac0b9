using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Debiasing;

/// <summary>Training-time extras of class suppression (PAPERS.md §4), read by the loss.</summary>
/// <param name="PlainLogits">(B, K, H, W): the wrapped model's own classifier on the un-suppressed feature A.</param>
/// <param name="DroppedClass">d, or −1 when no class was dropped this iteration (probability 1 − p).</param>
/// <param name="PlainWeight">λ = 1 − epoch / E at this forward.</param>
public sealed record ClassSuppressionBranch(Tensor PlainLogits, int DroppedClass, double PlainWeight);
