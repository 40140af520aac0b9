using SegCluster.Vision.Data;
using SegCluster.Vision.Data.Augmentation;
using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Tests.Data.Augmentation;

public sealed class SegmentationAugmenterTests
{
    private const int H = 32, W = 64;

    /// <summary>Labels 3 and 7 in a checkerboard of 3-pixel cells: any interpolation would create a 5.</summary>
    private static DecodedSample Sample()
    {
        var rgb = new byte[H * W * 3];
        var label = new byte[H * W];
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                int p = y * W + x;
                label[p] = (byte)(((x / 3 + y / 3) & 1) == 0 ? 3 : 7);
                rgb[3 * p] = (byte)(5 * x);
                rgb[3 * p + 1] = (byte)(7 * y);
                rgb[3 * p + 2] = (byte)(x * y % 256);
            }
        return new DecodedSample(rgb, label, H, W);
    }

    [Fact]
    public void Without_randomness_at_the_input_size_it_is_only_normalisation()
    {
        var s = Sample();
        var out1 = new SegmentationAugmenter(AugmentationOptions.None(H, W)).Train(s, seed: 1, epoch: 0, index: 0);
        var expected = ImageNormalization.ToSample(s);
        Assert.Equal(s.Label, out1.Label);
        for (int i = 0; i < expected.Image.Length; i++) Assert.Equal(expected.Image[i], out1.Image[i], 4);
    }

    [Fact]
    public void Labels_are_never_interpolated_at_any_scale()
    {
        var augmenter = new SegmentationAugmenter(new AugmentationOptions(32, 32, MinScale: 0.37, MaxScale: 2.3));
        for (int index = 0; index < 40; index++)
        {
            var label = augmenter.Train(Sample(), seed: 7, epoch: 1, index).Label;
            Assert.All(label, v => Assert.Contains(v, new byte[] { 3, 7, SegmentationSample.IgnoreLabel }));
        }
    }

    /// <summary>A crop larger than the scaled image is padded bottom and right; the sample says where its content ends,
    /// and the batch carries that as a 1/0 mask (the scribble regulariser skips the padding).</summary>
    [Fact]
    public void A_padded_crop_records_its_content_region_and_the_batch_its_mask()
    {
        var augmenter = new SegmentationAugmenter(new AugmentationOptions(48, 80, 1, 1, 0, 0, 0, 0));  // 32x64 into 48x80
        var padded = augmenter.Train(Sample(), 0, 0, 0);
        Assert.Equal((H, W), padded.Content);
        Assert.Equal(SegmentationSample.IgnoreLabel, padded.Label[H * 80]);  // first padded row
        var whole = new SegmentationAugmenter(AugmentationOptions.None(H, W)).Train(Sample(), 0, 0, 0);
        Assert.Null(whole.Content);

        using var batch = SegmentationBatch.Collate([padded, padded with { Content = null }], TorchSharp.torch.CPU);
        var mask = batch.Content!;
        Assert.Equal([2L, 1, 48, 80], mask.shape);
        Assert.Equal(H * W, mask[0].sum().item<float>());
        Assert.Equal(48 * 80, mask[1].sum().item<float>());
        Assert.Equal(1f, mask[0, 0, H - 1, W - 1].item<float>());
        Assert.Equal(0f, mask[0, 0, H - 1, W].item<float>());
    }

    [Fact]
    public void Doubling_copies_each_label_into_a_2x2_block()
    {
        var augmenter = new SegmentationAugmenter(new AugmentationOptions(2 * H, 2 * W, 2, 2, 0, 0, 0, 0));
        var s = Sample();
        var label = augmenter.Train(s, 0, 0, 0).Label;
        for (int y = 0; y < 2 * H; y++)
            for (int x = 0; x < 2 * W; x++)
                Assert.Equal(s.Label[y / 2 * W + x / 2], label[y * 2 * W + x]);
    }

    [Fact]
    public void A_flip_mirrors_image_and_label_together()
    {
        var s = Sample();
        var flipped = new SegmentationAugmenter(new AugmentationOptions(H, W, 1, 1, FlipProbability: 1, 0, 0, 0)).Train(s, 0, 0, 0);
        var plain = ImageNormalization.ToSample(s);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                Assert.Equal(s.Label[y * W + (W - 1 - x)], flipped.Label[y * W + x]);
                Assert.Equal(plain.Image[y * W + (W - 1 - x)], flipped.Image[y * W + x], 4);
            }
    }

    [Fact]
    public void Draws_are_a_function_of_seed_epoch_and_index()
    {
        var augmenter = new SegmentationAugmenter(new AugmentationOptions(32, 32));
        var a = augmenter.Train(Sample(), seed: 3, epoch: 2, index: 5);
        var again = augmenter.Train(Sample(), seed: 3, epoch: 2, index: 5);
        Assert.Equal(a.Image, again.Image);
        Assert.Equal(a.Label, again.Label);
        Assert.NotEqual(a.Image, augmenter.Train(Sample(), 3, 3, 5).Image);
        Assert.NotEqual(a.Image, augmenter.Train(Sample(), 3, 2, 6).Image);
        Assert.NotEqual(a.Image, augmenter.Train(Sample(), 4, 2, 5).Image);
    }

    [Fact]
    public void Photometric_jitter_changes_the_image_but_not_the_labels()
    {
        var geometryOnly = new SegmentationAugmenter(new AugmentationOptions(32, 32, Brightness: 0, Contrast: 0, Saturation: 0));
        var withJitter = new SegmentationAugmenter(new AugmentationOptions(32, 32, Brightness: 0.4, Contrast: 0.4, Saturation: 0.4));
        var a = geometryOnly.Train(Sample(), 9, 0, 1);
        var b = withJitter.Train(Sample(), 9, 0, 1);
        Assert.Equal(a.Label, b.Label);  // the geometry draws come first, so both saw the same scale/crop/flip
        Assert.NotEqual(a.Image, b.Image);
    }

    [Fact]
    public void Evaluation_resizes_the_whole_image_without_randomness()
    {
        var augmenter = new SegmentationAugmenter(new AugmentationOptions(H / 2, W / 2));
        var s = Sample();
        var half = augmenter.Evaluate(s);
        Assert.Equal(half.Label, augmenter.Evaluate(s).Label);
        for (int y = 0; y < H / 2; y++)
            for (int x = 0; x < W / 2; x++)
                Assert.Equal(s.Label[(2 * y + 1) * W + 2 * x + 1], half.Label[y * (W / 2) + x]);  // nearest of each 2x2 block's centre
    }

    [Fact]
    public void Invalid_options_name_the_field()
    {
        Assert.Contains("multiples of 16", Assert.Throws<ArgumentException>(() => new SegmentationAugmenter(new AugmentationOptions(30, 32))).Message);
        Assert.Contains("MinScale", Assert.Throws<ArgumentException>(() => new SegmentationAugmenter(new AugmentationOptions(32, 32, 2, 1))).Message);
        Assert.Contains("FlipProbability", Assert.Throws<ArgumentException>(() => new SegmentationAugmenter(new AugmentationOptions(32, 32, FlipProbability: 2))).Message);
    }

    /// <summary>A 1-pixel scribble stroke on an even row, shrunk to half size: nearest neighbour samples odd rows only,
    /// so the stroke vanished (with probability 1 − scale at any scale). With sparse labels the shrunk row takes the
    /// stroke from its source cell; dense labels stay nearest (their ignore borders must not fill in).</summary>
    [Fact]
    public void A_scribble_stroke_survives_shrinking_when_the_labels_are_sparse()
    {
        var label = Enumerable.Repeat(SegmentationSample.IgnoreLabel, H * W).ToArray();
        for (int x = 0; x < W; x++) label[10 * W + x] = 2;  // one stroke, row 10
        var sample = new DecodedSample(new byte[H * W * 3], label, H, W);
        var half = new AugmentationOptions(H / 2, W / 2, MinScale: 0.5, MaxScale: 0.5, FlipProbability: 0, Brightness: 0, Contrast: 0, Saturation: 0);

        var dense = new SegmentationAugmenter(half).Train(sample, seed: 1, epoch: 0, index: 0).Label;
        var sparse = new SegmentationAugmenter(half with { SparseLabels = true }).Train(sample, seed: 1, epoch: 0, index: 0).Label;

        Assert.All(dense, v => Assert.Equal(SegmentationSample.IgnoreLabel, v));  // nearest: rows 1, 3, 5, …
        for (int y = 0; y < H / 2; y++)
            for (int x = 0; x < W / 2; x++)
                Assert.Equal(y == 5 ? (byte)2 : SegmentationSample.IgnoreLabel, sparse[y * (W / 2) + x]);  // rows 10–11 → row 5
    }
}

