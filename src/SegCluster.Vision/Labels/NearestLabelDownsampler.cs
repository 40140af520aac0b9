using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Labels;

/// <summary>
/// The usual baseline (PAPERS.md §3 "Baselines"), as the paper runs it (PIL NEAREST, PyTorch "nearest-exact"): each
/// output pixel i takes the source pixel ⌊(i + 0.5)·s⌋ for a scale s = input / output size, at an integer factor f the
/// centre of its f×f cell, i·f + ⌊f/2⌋ (for even f the lower-right of the four central pixels). That is the pixel the
/// area-pooled logit cell is centred on; PyTorch's plain "nearest" (⌊i·s⌋, the top-left pixel) puts every label
/// (f − 1)/2 px off its cell and makes the baseline look worse than the paper's. A source index past the image (the
/// last cell of a side f does not divide) is clamped into it. Label ids survive exactly; nothing is averaged.
/// </summary>
public static class NearestLabelDownsampler
{
    /// <summary>(B, H, W) labels → (B, ⌈H/f⌉, ⌈W/f⌉) int64 on the same device; factor 1 returns a view of int64 labels (no copy).</summary>
    public static Tensor Downsample(Tensor labels, int factor)
    {
        LabelGrid.Check(labels, factor);
        long h = labels.shape[1], w = labels.shape[2];
        return Sample(labels, SourceIndices(h, LabelGrid.CoarseSize(h, factor), factor), SourceIndices(w, LabelGrid.CoarseSize(w, factor), factor));
    }

    /// <summary>(B, H, W) labels → (B, height, width) int64 on the same device, at any size ("nearest-exact": source
    /// ⌊(i + 0.5)·H/height⌋); at height = H/f the same pixels as <see cref="Downsample"/>.</summary>
    public static Tensor Resize(Tensor labels, long height, long width)
    {
        LabelGrid.Check(labels, 1);
        if (height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(nameof(height), $"the label grid {height}x{width} must have sides >= 1");
        long h = labels.shape[1], w = labels.shape[2];
        return Sample(labels, SourceIndices(h, height, (double)h / height), SourceIndices(w, width, (double)w / width));
    }

    /// <summary>⌊(i + 0.5)·scale⌋ for i in [0, cells), clamped to [0, size − 1].</summary>
    public static long[] SourceIndices(long size, long cells, double scale) =>
        Enumerable.Range(0, checked((int)cells)).Select(i => Math.Min((long)Math.Floor((i + 0.5) * scale), size - 1)).ToArray();

    private static Tensor Sample(Tensor labels, long[] rows, long[] columns)
    {
        using var scope = NewDisposeScope();
        return Select(Select(labels, 1, rows), 2, columns).to(ScalarType.Int64).contiguous().MoveToOuterDisposeScope();  // (B, h, w)
    }

    /// <summary>
    /// The entries <paramref name="indices"/> of dimension <paramref name="dim"/>. Cell centres are evenly spaced
    /// (i·f + ⌊f/2⌋), at most the last clamped into the image, so they are a strided view, with that one slice appended:
    /// no index tensor is built from host memory, which on a GPU would be a host-to-device copy and a stream
    /// synchronisation in every loss term of every step. Other spacings (a resize by a non-integer scale) select by index.
    /// </summary>
    private static Tensor Select(Tensor source, int dim, long[] indices)
    {
        long first = indices[0], step = indices.Length > 1 ? indices[1] - indices[0] : 1;
        int strided = 1;
        while (strided < indices.Length && indices[strided] == first + strided * step) strided++;
        if (step >= 1 && strided == indices.Length)
            return source.slice(dim, first, first + (strided - 1) * step + 1, step);
        if (step >= 1 && strided == indices.Length - 1)
            return cat([source.slice(dim, first, first + (strided - 1) * step + 1, step), source.narrow(dim, indices[^1], 1)], dim);
        using var index = tensor(indices, device: source.device);
        return source.index_select(dim, index);
    }
}
