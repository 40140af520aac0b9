using SegCluster.Vision.Devices;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Devices;

/// <summary>
/// Regression test for the oneDNN AVX-512 backward-weights fault (see <see cref="OneDnnIsaLimit"/>): with two
/// intra-op threads, conv weight gradients were NaN in 5–11 of 20 iterations on the build machines.
/// </summary>
public sealed class OneDnnIsaLimitTests
{
    [Fact]
    public void Loading_the_library_caps_onednn_unless_the_user_chose()
    {
        Assert.NotNull(OneDnnIsaLimit.Effective);
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
