using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Tests.Shared;

/// <summary>A criterion that passes every call to <paramref name="inner"/> and records the class each training forward
/// dropped (PAPERS.md §4; −1: none), so a test sees what the trainer's micro-batches dropped.</summary>
internal sealed class DroppedClassRecorder(ISegmentationCriterion inner) : ISegmentationCriterion
{
    public List<int> Dropped { get; } = [];

    public bool ReadsContent => inner.ReadsContent;

    public LossTerms Terms(SegmentationOutput output, Tensor labels, Tensor images, Tensor? content = null)
    {
        if (output.Suppression is { } branch) Dropped.Add(branch.DroppedClass);
        return inner.Terms(output, labels, images, content);
    }
}
