namespace SegCluster.Vision.Models.Backbones;

/// <summary>
/// Vision-transformer encoder spec (Dosovitskiy et al. 2021; the ViT option of PAPERS.md §5).
/// </summary>
/// <param name="Dim">Token width.</param>
/// <param name="Depth">Number of transformer blocks.</param>
/// <param name="Heads">Attention heads; must divide <paramref name="Dim"/>.</param>
/// <param name="Patch">Patch size = output stride (16).</param>
/// <param name="MlpRatio">Hidden width of each MLP relative to <paramref name="Dim"/>.</param>
/// <param name="ImageSize">Side of the square image the position embedding is sized for (224 as published);
/// other sizes interpolate it bilinearly.</param>
public sealed record VitConfig(int Dim, int Depth, int Heads, int Patch = 16, int MlpRatio = 4, int ImageSize = 224)
{
    /// <summary>ViT-S/16: 384 / 12 / 6, ≈ 22.05M parameters with a 1000-way classifier (timm vit_small_patch16_224).</summary>
    public static VitConfig Small { get; } = new(384, 12, 6);

    /// <summary>ViT-B/16: 768 / 12 / 12, ≈ 86.57M parameters with a 1000-way classifier (timm vit_base_patch16_224).</summary>
    public static VitConfig Base { get; } = new(768, 12, 12);

    /// <summary>
    /// CPU-sized config for a model <c>Width</c> (ModelOptions.Width): dim = 4·Width, 4 blocks, heads = the largest
    /// divisor of dim up to max(1, dim / 32) (heads must divide dim: width 28 → dim 112, 2 heads, not 3), position
    /// embedding for 64×64 images. Width 16 → dim 64, 2 heads.
    /// </summary>
    public static VitConfig ForWidth(int width)
    {
        int dim = 4 * width;
        int heads = Math.Max(1, dim / 32);
        while (dim % heads != 0) heads--;
        return new VitConfig(dim, 4, heads, ImageSize: 64);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (Dim < 1 || Heads < 1 || Dim % Heads != 0)
            throw new ArgumentException($"VitConfig.Heads = {Heads} must be >= 1 and divide VitConfig.Dim = {Dim}.", nameof(Heads));
        if (Depth < 1)
            throw new ArgumentException($"VitConfig.Depth = {Depth} must be >= 1.", nameof(Depth));
        if (Patch < 1 || MlpRatio < 1)
            throw new ArgumentException($"VitConfig.Patch = {Patch} and VitConfig.MlpRatio = {MlpRatio} must be >= 1.", nameof(Patch));
        if (ImageSize < Patch || ImageSize % Patch != 0)
            throw new ArgumentException($"VitConfig.ImageSize = {ImageSize} must be a positive multiple of VitConfig.Patch = {Patch}.", nameof(ImageSize));
    }
}
