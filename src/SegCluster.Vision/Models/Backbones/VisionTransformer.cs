using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// ViT encoder with patch size 16 (Dosovitskiy et al. 2021; the ViT backbone option of PAPERS.md §5):
/// 16×16 patch embedding (a stride-16 conv), a class token, learned position embeddings (bilinearly
/// interpolated when the grid differs from <see cref="VitConfig.ImageSize"/>/16), pre-norm blocks, final
/// LayerNorm. Returns the patch tokens as a feature map at stride 16: (B, Dim, H/16, W/16). Parameter
/// layout matches timm's vit_*_patch16_224 without its classifier, so counts compare with the published
/// ones (see the tests).
/// </summary>
public sealed class VisionTransformer : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> patch_embed;
    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly nn.Module<Tensor, Tensor> norm;

    /// <summary>Standard deviation of the class token and position embeddings at initialisation (held: KeptScalars).</summary>
    private static readonly Scalar InitialStd = 0.02.ToScalar();

    public VisionTransformer(VitConfig config) : base(nameof(VisionTransformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        int grid = config.ImageSize / config.Patch;
        patch_embed = nn.Conv2d(3, config.Dim, kernel_size: config.Patch, stride: config.Patch);
        cls_token = nn.Parameter(randn(1, 1, config.Dim).mul_(InitialStd));
        pos_embed = nn.Parameter(randn(1, 1 + grid * grid, config.Dim).mul_(InitialStd));
        blocks = nn.ModuleList(Enumerable.Range(0, config.Depth).Select(_ => new TransformerBlock(config.Dim, config.Heads, config.MlpRatio)).ToArray());
        norm = nn.LayerNorm(config.Dim, eps: 1e-6);  // timm's eps
        RegisterComponents();
    }

    public VitConfig Config { get; }

    /// <summary>Output stride = patch size.</summary>
    public int OutputStride => Config.Patch;

    /// <param name="images">(B, 3, H, W), H and W multiples of the patch size.</param>
    /// <returns>(B, Dim, H/16, W/16).</returns>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var patches = patch_embed.call(images);                                    // (B, D, h, w)
        long b = patches.shape[0], d = patches.shape[1], h = patches.shape[2], w = patches.shape[3];
        var tokens = patches.flatten(2).transpose(1, 2);                              // (B, h·w, D)
        var x = Layers.Add(cat([cls_token.expand(b, 1, d), tokens], 1), Positions(h, w));  // (B, 1 + h·w, D)
        foreach (var block in blocks)
            x = block.call(x);
        x = norm.call(x);
        var map = x.narrow(1, 1, h * w).transpose(1, 2).reshape(b, d, h, w);          // (B, D, h, w)
        return map.MoveToOuterDisposeScope();
    }

    /// <summary>Position embeddings for an h×w grid: (1, 1 + h·w, D).</summary>
    private Tensor Positions(long h, long w)
    {
        long grid = Config.ImageSize / Config.Patch, d = Config.Dim;
        if (h == grid && w == grid) return pos_embed;
        var cls = pos_embed.narrow(1, 0, 1);                                          // (1, 1, D)
        var spatial = pos_embed.narrow(1, 1, grid * grid).transpose(1, 2).reshape(1, d, grid, grid);
        var resized = nn.functional.interpolate(spatial, [h, w], mode: InterpolationMode.Bilinear, align_corners: false);
        return cat([cls, resized.flatten(2).transpose(1, 2)], 1);
    }
}
