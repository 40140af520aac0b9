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

    /// <summary>Scribbles synthesised from the full masks (<see cref="ScribbleSynthesizer"/>, PAPERS.md §5):
    /// partial CE on the scribbled pixels only, every other pixel ignored; f = 1.</summary>
    Scribble,
}
