using SegCluster.Vision.Inference;
using SegCluster.Vision.Models;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Inference;

/// <summary>Whole-image, sliding-window, flip and multi-scale inference against hand-computed expectations.</summary>
public sealed class SegmentationPredictorTests
{
    [Fact]
    public void A_window_covering_the_image_equals_whole_image_inference()
    {
        using var model = TestData.Model("encoder-decoder", 4, 8, NormKind.GroupNorm, seed: 3);
        model.eval();
        using var noGrad = no_grad();
        manual_seed(1);
        var images = randn(2, 3, 32, 48);
        Tensor Logits(Tensor x) => model.forward(x).Logits;
        var whole = new SegmentationPredictor(Logits, model.OutputStride, InferenceOptions.Whole).Probabilities(images);
        var slide = new SegmentationPredictor(Logits, model.OutputStride, new InferenceOptions(Crop: (32, 48), Stride: (16, 16))).Probabilities(images);
        Assert.Equal(0.0, (whole - slide).abs().max().item<float>(), 6);
        Assert.Equal(new long[] { 2, 4, 32, 48 }, whole.shape);
    }

    /// <summary>
    /// A network whose class-0 logit is its window's mean intensity everywhere (class 1: 0), so each window's
    /// probability is sigmoid(window mean) and a pixel's prediction is the average over the windows covering it.
    /// Image 20×32 pads to 24×32 (stride 8); crop 16×16 every 8×12 gives rows {0, 8} and columns {0, 12, 16}.
    /// </summary>
    [Fact]
    public void Overlapping_windows_are_averaged_exactly()
    {
        manual_seed(2);
        var image = rand(1, 3, 20, 32);
        var predictor = new SegmentationPredictor(WindowMean, 8, new InferenceOptions(Crop: (16, 16), Stride: (8, 12)));
        var actual = predictor.Probabilities(image).select(1, 0);  // (1, 20, 32)

        var padded = nn.functional.pad(image, [0, 0, 0, 4]);  // 24×32
        var sum = new double[24, 32];
        var count = new int[24, 32];
        foreach (var top in new[] { 0, 8 })
            foreach (var left in new[] { 0, 12, 16 })
            {
                var mean = padded.narrow(2, top, 16).narrow(3, left, 16).select(1, 0).mean().item<float>();
                var p = 1 / (1 + Math.Exp(-mean));
                for (var y = top; y < top + 16; y++)
                    for (var x = left; x < left + 16; x++) { sum[y, x] += p; count[y, x]++; }
            }
        for (var y = 0; y < 20; y++)
            for (var x = 0; x < 32; x++)
                Assert.Equal(sum[y, x] / count[y, x], actual[0, y, x].item<float>(), 5);
        Assert.Equal(4, count[8, 16]);  // rows {0, 8} × columns {12, 16} cover (8, 16): the averaging is exercised
    }

    [Fact]
    public void Flip_averages_the_prediction_of_the_mirrored_image()
    {
        var image = zeros(1, 3, 8, 16);
        var predictor = new SegmentationPredictor(ColumnRamp, 8, new InferenceOptions(Flip: true));
        var actual = predictor.Probabilities(image).select(1, 0)[0, 0];
        for (var x = 0; x < 16; x++)
        {
            double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
            var expected = (Sigmoid(x / 16.0) + Sigmoid((15 - x) / 16.0)) / 2;
            Assert.Equal(expected, actual[x].item<float>(), 5);
        }
    }

    [Fact]
    public void Multi_scale_returns_full_resolution_probabilities()
    {
        var image = rand(1, 3, 32, 32);
        var probabilities = new SegmentationPredictor(WindowMean, 8, new InferenceOptions(Scales: [0.5, 1.0, 1.5])).Probabilities(image);
        Assert.Equal(new long[] { 1, 2, 32, 32 }, probabilities.shape);
        Assert.Equal(1.0, probabilities.sum(1).mean().item<float>(), 5);
    }

    [Theory]
    [InlineData(48, 16, 16, 16, "crop: 48x16 is larger than the image 20x32 allows")]
    [InlineData(12, 16, 8, 8, "crop: 12x16 must be a multiple of the network's output stride 8")]
    [InlineData(16, 16, 24, 8, "stride: 24x8 must be at least 1 and at most the crop 16x16")]
    public void Bad_windows_are_refused_with_the_option_named(int cropHeight, int cropWidth, int strideHeight, int strideWidth, string expected)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() =>
            new SegmentationPredictor(WindowMean, 8, new InferenceOptions(Crop: (cropHeight, cropWidth), Stride: (strideHeight, strideWidth)))
                .Probabilities(rand(1, 3, 20, 32)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Multi_scale_with_flip_averages_every_views_probabilities_at_full_resolution()
    {
        manual_seed(4);
        var image = rand(1, 3, 32, 32);
        var actual = new SegmentationPredictor(ColumnRamp, 8, new InferenceOptions(Scales: [0.5, 1.0], Flip: true)).Probabilities(image);

        Tensor View(Tensor x, bool flip) => (flip ? ColumnRamp(x.flip(3)).softmax(1).flip(3) : ColumnRamp(x).softmax(1));
        Tensor Up(Tensor x) => nn.functional.interpolate(x, [32, 32], mode: InterpolationMode.Bilinear, align_corners: false);
        var half = nn.functional.interpolate(image, [16, 16], mode: InterpolationMode.Bilinear, align_corners: false);
        var expected = (Up(View(half, false)) + Up(View(half, true)) + View(image, false) + View(image, true)) / 4;
        Assert.Equal(0.0, (actual - expected).abs().max().item<float>(), 6);
    }

    /// <summary>Image 32x32, crop 24x24: fits at scale 1, not at 0.5 (16x16); refused before the scale-1 prediction runs.</summary>
    [Fact]
    public void A_crop_too_large_at_a_smaller_scale_is_refused_before_any_prediction()
    {
        int calls = 0;
        Tensor Counted(Tensor x) { calls++; return WindowMean(x); }
        var predictor = new SegmentationPredictor(Counted, 8, new InferenceOptions(Crop: (24, 24), Scales: [1.0, 0.5]));
        var error = Assert.Throws<ArgumentException>(() => predictor.CheckFits(32, 32));
        Assert.Contains("crop: 24x24 is larger than the image 32x32 allows at scale 0.5 (16x16", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => predictor.Probabilities(rand(1, 3, 32, 32)));
        Assert.Equal(0, calls);
    }

    /// <summary>7 windows along a 16x64 image: the tensors alive when each window's network call starts stay the same
    /// from the second window on (the first allocates the sum), so windows' logits and softmax are freed as they go.</summary>
    [Fact]
    public void Sliding_windows_free_each_windows_tensors_before_the_next()
    {
        var live = new List<long>();
        Tensor Counted(Tensor x) { live.Add(TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount); return WindowMean(x); }
        using var scope = NewDisposeScope();
        var predictor = new SegmentationPredictor(Counted, 8, new InferenceOptions(Crop: (16, 16), Stride: (8, 8)));
        predictor.Probabilities(rand(1, 3, 16, 64));
        Assert.Equal(7, live.Count);
        Assert.All(live.Skip(2), count => Assert.Equal(live[1], count));
    }

    private static Tensor WindowMean(Tensor x)
    {
        var mean = x.select(1, 0).mean([1, 2], keepdim: true).unsqueeze(1);  // (B, 1, 1, 1)
        var classZero = mean.expand(x.shape[0], 1, x.shape[2], x.shape[3]);
        return cat([classZero, zeros_like(classZero)], 1);
    }

    private static Tensor ColumnRamp(Tensor x)
    {
        var ramp = arange(x.shape[3], dtype: ScalarType.Float32).div(x.shape[3]).view(1, 1, 1, -1).expand(x.shape[0], 1, x.shape[2], x.shape[3]);
        return cat([ramp, zeros_like(ramp)], 1);
    }
}
