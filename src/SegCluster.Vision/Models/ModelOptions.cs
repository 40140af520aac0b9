using SegCluster.Vision.Models.Backbones;

namespace SegCluster.Vision.Models;

/// <summary>Typed model spec, validated up front (STYLE.md habit 2).</summary>
/// <param name="Name">Registry name, see <see cref="ModelRegistry.Names"/>.</param>
/// <param name="NumClasses">K, the number of output channels.</param>
/// <param name="Width">Base channels C: encoder levels have C, 2C, 4C, 8C channels (×4 for bottleneck ResNets),
/// decoders 2C. Small by default for CPU; 64 is torchvision's ResNet width.</param>
/// <param name="Norm">Normalisation layer after each convolution.</param>
/// <param name="Backbone">Encoder name, see <see cref="ModelRegistry.Backbones"/>: "tiny" (the CPU encoder) or resnet18|34|50|101;
/// for "vit" tiny (CPU-sized), vit-s or vit-b.</param>
/// <param name="OutputStride">Encoder output stride; null = the model's choice (tiny: its natural 16; ResNets: 32, or 16 for DeepLabV3+).
/// ResNets take 16 or 8 by dilating their last layers.</param>
/// <param name="SpgSupervision">SPGNet ablation (PAPERS.md §1): the SPG prediction P is returned as an auxiliary output and supervised.</param>
/// <param name="SpgSigmoid">SPGNet ablation: the attention A = σ(Conv1×1(P)); off, A is the linear Conv1×1(P).</param>
/// <param name="SpgIdentity">SPGNet ablation: F' = F + F ⊙ A; off, F' = F ⊙ A.</param>
/// <param name="BackboneWeights">Optional state-dict file loaded into every encoder after construction (<see cref="Backbones.BackboneWeights"/>).</param>
/// <param name="LogitFactor">Label grid factor f of training (PAPERS.md §2 "Efficient grid", §3): in training mode the
/// logits come out at (H/f, W/f) and models with a multi-level decoder (spgnet, encoder-decoder, deeplabv3plus) stop
/// their decoder at the encoder level of stride ≤ f, so nothing finer than the label grid is computed or stored for
/// backward; in eval mode the same network's logits are bilinearly upsampled to (H, W). 1 = full resolution.</param>
/// <param name="DecoderTruncation">Spectral feature truncation ratio r ∈ (0, 1] of the finest decoder level
/// (PAPERS.md §2 "Feature truncation", <see cref="Spectral.SpectralFeatureTruncation"/>): that level runs on an r-times
/// smaller grid per side. 1 = off. Used by every model of <see cref="ModelRegistry.TruncatingModels"/> (not vit).</param>
public sealed record ModelOptions(
    string Name = "spgnet",
    int NumClasses = 6,
    int Width = 16,
    NormKind Norm = NormKind.BatchNorm,
    string Backbone = BackboneRegistry.Tiny,
    int? OutputStride = null,
    bool SpgSupervision = true,
    bool SpgSigmoid = true,
    bool SpgIdentity = true,
    string? BackboneWeights = null,
    int LogitFactor = 1,
    double DecoderTruncation = 1.0)
{
    /// <summary>Valid <see cref="LogitFactor"/> values.</summary>
    public static readonly IReadOnlyList<int> LogitFactors = [1, 2, 4, 8, 16, 32];

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || !ModelRegistry.Names.Contains(Name))
            throw new ArgumentException(
                $"ModelOptions.Name = \"{Name}\" is not a known model; valid names: {string.Join(", ", ModelRegistry.Names)}.",
                nameof(Name));
        if (NumClasses is < 2 or > 255)
            throw new ArgumentException(
                $"ModelOptions.NumClasses = {NumClasses} is out of range: it must be in [2, 255] (255 is the ignore label).",
                nameof(NumClasses));
        if (Width is < 4 or > 1024)
            throw new ArgumentException($"ModelOptions.Width = {Width} is out of range: it must be in [4, 1024].", nameof(Width));
        if (!Enum.IsDefined(Norm))
            throw new ArgumentException($"ModelOptions.Norm = {Norm} is not a NormKind.", nameof(Norm));
        var backbones = ModelRegistry.Backbones(Name);
        if (string.IsNullOrWhiteSpace(Backbone) || !backbones.Contains(Backbone))
            throw new ArgumentException(
                $"ModelOptions.Backbone = \"{Backbone}\" is not a backbone of model \"{Name}\"; valid names: {string.Join(", ", backbones)}.",
                nameof(Backbone));
        var strides = BackboneRegistry.OutputStrides(Backbone);
        if (OutputStride is { } os && !strides.Contains(os))
            throw new ArgumentException(
                $"ModelOptions.OutputStride = {os} is not supported by backbone \"{Backbone}\": set it to one of {string.Join(", ", strides)} (or leave it null).",
                nameof(OutputStride));
        if (BackboneWeights is not null && !File.Exists(BackboneWeights))
            throw new ArgumentException($"ModelOptions.BackboneWeights = \"{BackboneWeights}\" does not exist.", nameof(BackboneWeights));
        if (!LogitFactors.Contains(LogitFactor))
            throw new ArgumentException(
                $"ModelOptions.LogitFactor = {LogitFactor} is not supported; valid values: {string.Join(", ", LogitFactors)}.", nameof(LogitFactor));
        if (!(DecoderTruncation is > 0 and <= 1))
            throw new ArgumentException(
                $"ModelOptions.DecoderTruncation = {DecoderTruncation} is out of range: it must be in (0, 1] (1 = no truncation, 0.5 = half the grid per side).",
                nameof(DecoderTruncation));
        if (DecoderTruncation < 1 && !ModelRegistry.TruncatingModels.Contains(Name))
            throw new ArgumentException(
                $"ModelOptions.DecoderTruncation = {DecoderTruncation}: model \"{Name}\" has no fine decoder level to truncate " +
                $"(its decoder works on stride-16 tokens only); use it with {string.Join(", ", ModelRegistry.TruncatingModels)}, or leave it at 1.",
                nameof(DecoderTruncation));
    }

    /// <summary>Builds the encoder this spec names (a fresh one per call: SPGNet builds two).</summary>
    /// <param name="resNetOutputStride">The model's preferred ResNet output stride when <see cref="OutputStride"/> is null (DeepLabV3+: 16).</param>
    internal Encoder CreateEncoder(int tinyBlocksPerLevel = 1, int? resNetOutputStride = null)
    {
        int? outputStride = OutputStride ?? (Backbone == BackboneRegistry.Tiny ? null : resNetOutputStride);
        var encoder = BackboneRegistry.Create(Backbone, Width, Norm, outputStride, tinyBlocksPerLevel);
        if (BackboneWeights is not null) Backbones.BackboneWeights.Load(encoder, BackboneWeights);
        return encoder;
    }
}
