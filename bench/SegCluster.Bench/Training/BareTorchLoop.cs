using SegCluster.Vision.Data;
using SegCluster.Vision.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Bench.Training;

/// <summary>
/// The reference a PyTorch user would write by hand: forward, <c>cross_entropy(ignore_index=255)</c>,
/// backward, SGD with momentum and weight decay as in-place tensor ops on the parameters (PyTorch's SGD
/// formula, the one <c>SgdMomentum</c> implements). No reducer, no flattening, no host copies.
/// </summary>
internal sealed class BareTorchLoop : IDisposable
{
    private readonly SegmentationModel _model;
    private readonly TorchSharp.Modules.Parameter[] _parameters;
    private readonly Tensor[] _momentum;

    // Held for the loop's life: temporary Scalars can be collected while libtorch still reads them (see StableBatchNorm2d).
    private readonly Scalar _momentumFactor;
    private readonly Scalar _weightDecay;
    private readonly Scalar _negativeLearningRate;
    private long _steps;

    public BareTorchLoop(SegmentationModel model, double learningRate = 0.01, double momentum = 0.9, double weightDecay = 1e-4)
    {
        _model = model;
        _parameters = model.parameters().Where(p => p.requires_grad).ToArray();
        _momentum = _parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _momentumFactor = momentum.ToScalar();
        _weightDecay = weightDecay.ToScalar();
        _negativeLearningRate = (-learningRate).ToScalar();
    }

    public void Step(SegmentationBatch batch)
    {
        using var scope = NewDisposeScope();
        _model.train();
        foreach (var p in _parameters) p.grad?.zero_();
        var logits = _model.forward(batch.Images).Logits;  // (B, K, H, W)
        var loss = nn.functional.cross_entropy(logits, batch.Labels, ignore_index: 255);
        loss.backward();
        using var noGrad = no_grad();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            var d = p.grad!.add(p, alpha: _weightDecay);
            if (_steps == 0) _momentum[i].copy_(d);
            else _momentum[i].mul_(_momentumFactor).add_(d);
            p.add_(_momentum[i], alpha: _negativeLearningRate);
        }
        _steps++;
    }

    public void Dispose()
    {
        foreach (var m in _momentum) m.Dispose();
        _momentumFactor.Dispose();
        _weightDecay.Dispose();
        _negativeLearningRate.Dispose();
    }
}
