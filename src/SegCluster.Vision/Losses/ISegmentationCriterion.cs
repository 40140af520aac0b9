using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Vision.Losses;

/// <summary>
/// A loss <see cref="Training.DataParallelTrainer"/> can train with: local, un-normalised term sums plus
/// the count each is divided by GLOBALLY (summed over ranks) and the term's weight, so that
/// loss = Σ_t w_t · Σ_ranks Sums[t] / Σ_ranks counts[t] (<see cref="SegmentationCriterion.Combine"/>).
/// </summary>
public interface ISegmentationCriterion
{
    /// <summary>
    /// Local term sums (with autograd history) and counts. Call inside the caller's dispose scope;
    /// neither <paramref name="labels"/> nor <paramref name="images"/> is modified.
    /// </summary>
    /// <param name="output">Model output.</param>
    /// <param name="labels">(B, H, W) int64 class ids; the criterion's ignore index marks unlabelled pixels.</param>
    /// <param name="images">(B, 3, H, W) the model's input (image-dependent regularisers read it).</param>
    /// <param name="content">(B, 1, H, W) 1 on image content, 0 on crop padding (<see cref="Data.SegmentationBatch.Content"/>);
    /// null when nothing is padded. Label terms need none (padding is ignore); image-dependent regularisers skip padding.</param>
    LossTerms Terms(SegmentationOutput output, Tensor labels, Tensor images, Tensor? content = null);

    /// <summary>Whether <see cref="Terms"/> reads its content mask: the trainer builds the batch's mask only then.</summary>
    bool ReadsContent => false;
}
