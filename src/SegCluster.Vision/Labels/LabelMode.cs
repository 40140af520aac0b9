namespace SegCluster.Vision.Labels;

/// <summary>How the final loss sees the labels (PAPERS.md §2 "Efficient grid", "Block-wise"; §3).</summary>
public enum LabelMode
{
    /// <summary>Full-resolution labels, hard CE (the default; unchanged behaviour).</summary>
    Full,

    /// <summary>Nearest-down-sampled labels at factor f, hard CE on area-down-sampled logits.</summary>
    Nearest,

    /// <summary>Soft labels at factor f, soft CE on area-down-sampled logits.</summary>
    SoftCrossEntropy,

    /// <summary>Soft labels at factor f, KL(Ỹ ‖ S) on area-down-sampled logits.</summary>
    SoftKl,

    /// <summary>Block-wise weak annotation with block size b = f, hard CE on the block grid.</summary>
    Block,

    /// <summary>Mode-pooled labels at factor f (each cell's most frequent valid class, <see cref="MajorityLabelDownsampler"/>),
    /// hard CE on area-down-sampled logits: PAPERS.md §3's second baseline beside nearest. Unlike <see cref="Block"/> (a fixed
    /// weak annotation of the un-augmented mask), the labels are pooled from each training crop as it is, as nearest are.</summary>
    Majority,

    /// <summary>The labels are scribbles (PAPERS.md §5): partial CE on the scribbled pixels only, every other pixel
    /// carrying the ignore label, for the auxiliary terms too; f = 1. The training source draws them from the full masks
    /// before augmentation (<see cref="ScribbleSynthesizer"/>), so the criterion computes what <see cref="Full"/> does, except
    /// that auxiliaries take the majority of each cell's strokes. Full labels that are scribbles (a scribble loss, VOC's
    /// train_scribble) train in this mode too.</summary>
    Scribble,
}
