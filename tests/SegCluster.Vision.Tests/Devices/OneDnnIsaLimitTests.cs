using SegCluster.Vision.Devices;
using SegCluster.Vision.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Devices;

/// <summary>
/// Regression tests for the oneDNN faults the ISA cap avoids (see <see cref="OneDnnIsaLimit"/>): AVX-512 backward-weights
/// NaN with two intra-op threads (5–11 of 20 iterations on the build machines), and AVX/AVX2/AVX-512 forward convolutions
/// whose input channels have a SIMD tail reading stale heap memory (fail at ONEDNN_MAX_CPU_ISA=AVX, pass at the cap).
/// </summary>
public sealed class OneDnnIsaLimitTests
{
    [Fact]
    public void Onednn_is_capped_at_sse41_when_the_user_chose_nothing()
    {
        Assert.Equal("SSE41", OneDnnIsaLimit.CapFor(_ => null, unixLike: true));
    }

    [Theory]
    [InlineData("ONEDNN_MAX_CPU_ISA", "AVX2")]
    [InlineData("DNNL_MAX_CPU_ISA", "AVX512_CORE")]  // oneDNN's older name for the same setting
    public void The_users_choice_wins(string variable, string isa)
    {
        Assert.Null(OneDnnIsaLimit.CapFor(name => name == variable ? isa : null, unixLike: true));
    }

    [Fact]
    public void Nothing_is_set_where_libc_setenv_is_not_there()
    {
        Assert.Null(OneDnnIsaLimit.CapFor(_ => null, unixLike: false));
    }

    [Fact]
    public void Conv_weight_gradients_with_two_threads_are_finite_and_match_one_thread()
    {
        var previous = get_num_threads();
        try
        {
            set_num_threads(1);
            var reference = ConvGradients(iterations: 1)[0];
            set_num_threads(2);
            foreach (var gradient in ConvGradients(iterations: 20))
            {
                Assert.All(gradient, g => Assert.True(float.IsFinite(g)));
                Assert.Equal(reference.Length, gradient.Length);
                for (var i = 0; i < reference.Length; i++)
                    Assert.True(Math.Abs(reference[i] - gradient[i]) <= 1e-4 * (1 + Math.Abs(reference[i])), $"element {i}: {gradient[i]} vs {reference[i]}");
            }
        }
        finally
        {
            set_num_threads(previous);
        }
    }

    /// <summary>A 3×3 convolution over a channel count with a SIMD tail, run right after freed tensors left NaN on the heap,
    /// computes what the float64 reference (not oneDNN) does: NaN everywhere or 20–50% off at AVX.</summary>
    [Theory]
    [InlineData(38)]  // DeepLabV3+'s decoder fusion at width 8: 32 ASPP + 6 low-level channels
    [InlineData(12)]
    [InlineData(21)]
    public void Convolutions_over_a_channel_tail_ignore_stale_heap_memory(int inChannels)
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var conv = nn.Conv2d(inChannels, 32, 3, padding: 1, bias: false);
        var x = randn(2, inChannels, 8, 8);
        using var noGrad = no_grad();
        LeaveNaNInFreedMemory();
        var y = conv.call(x);                                            // (2, 32, 8, 8)
        var expected = nn.functional.conv2d(x.to(ScalarType.Float64), conv.weight!.to(ScalarType.Float64), padding: [1, 1]);
        Assert.Equal(0, isnan(y).sum().item<long>());
        double error = (y.to(ScalarType.Float64) - expected).abs().max().item<double>();
        Assert.True(error <= 1e-4 * expected.abs().max().item<double>(), $"max error {error}");
    }

    /// <summary>DeepLabV3+ at width 8 (the model whose loss was NaN at step 1 in 2–7 of 24 two-rank runs) gives finite
    /// logits right after freed tensors left NaN on the heap.</summary>
    [Fact]
    public void DeepLabV3Plus_logits_stay_finite_over_stale_nan_memory()
    {
        using var model = TestData.Model("deeplabv3plus", numClasses: 4, width: 8, NormKind.BatchNorm, seed: 2);
        model.train();
        using var scope = NewDisposeScope();
        var images = randn(2, 3, 32, 32);
        LeaveNaNInFreedMemory();
        var logits = model.call(images).Logits;                         // (2, 4, 32, 32)
        Assert.True(isfinite(logits).all().item<bool>());
    }

    /// <summary>Allocates NaN-filled tensors of 1–128 KiB and frees them: the allocator hands that memory to the next
    /// tensors and oneDNN buffers, so a kernel that reads memory it never wrote sees NaN.</summary>
    private static void LeaveNaNInFreedMemory()
    {
        var freed = new List<Tensor>();
        for (long bytes = 1024; bytes <= 128 * 1024; bytes += 1024)
            freed.Add(full([bytes / sizeof(float)], float.NaN));
        foreach (var tensor in freed) tensor.Dispose();
    }

    /// <summary>conv → relu → conv → relu + skip, summed; the first conv's weight gradient each iteration.</summary>
    private static List<float[]> ConvGradients(int iterations)
    {
        // Referencing the library type first is what a product process does: its module initializer runs.
        Assert.Equal(OneDnnIsaLimit.SafeIsa, OneDnnIsaLimit.Effective ?? OneDnnIsaLimit.SafeIsa);
        manual_seed(1);
        using var conv1 = nn.Conv2d(3, 8, 3, stride: 2, padding: 1, bias: false);
        using var conv2 = nn.Conv2d(8, 8, 3, padding: 1, bias: false);
        using var x = randn(4, 3, 32, 32);
        var gradients = new List<float[]>();
        for (var i = 0; i < iterations; i++)
        {
            using var scope = NewDisposeScope();
            conv1.zero_grad();
            conv2.zero_grad();
            var y = nn.functional.relu(conv1.forward(x));                     // (4, 8, 16, 16)
            var z = nn.functional.relu(conv2.forward(y)) + y;
            z.sum().backward();
            gradients.Add(conv1.weight!.grad!.data<float>().ToArray());
        }
        return gradients;
    }
}
