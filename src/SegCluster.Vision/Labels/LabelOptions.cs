namespace SegCluster.Vision.Labels;

/// <summary>Label grid of the final loss term. Evaluation always stays at full resolution.</summary>
/// <param name="Mode">See <see cref="LabelMode"/>.</param>
/// <param name="Factor">Down-sampling factor f (block size b in <see cref="LabelMode.Block"/>); must divide H and W.</param>
/// <param name="BlockMinPurity">Block mode: blocks whose majority share is below this become ignore.</param>
/// <param name="Renormalize">Soft modes: divide each cell's class fractions by its valid mass (rows sum to 1) instead of
/// keeping the raw area fractions, the authors' code (<see cref="SoftLabelOptions.Renormalize"/>).</param>
public sealed record LabelOptions(LabelMode Mode = LabelMode.Full, int Factor = 1, double BlockMinPurity = 0, bool Renormalize = false)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (Factor < 1)
            throw new ArgumentException($"LabelOptions.Factor = {Factor} must be >= 1.", nameof(Factor));
        if (!Enum.IsDefined(Mode))
            throw new ArgumentException($"LabelOptions.Mode = {Mode} is not a LabelMode; valid values: {string.Join(", ", Enum.GetNames<LabelMode>())}.", nameof(Mode));
        if ((Mode is LabelMode.Full or LabelMode.Scribble) && Factor != 1)
            throw new ArgumentException($"LabelOptions.Factor = {Factor} needs a down-sampling Mode; with Mode = {Mode} use Factor = 1.", nameof(Factor));
        if (Renormalize && Mode is not (LabelMode.SoftCrossEntropy or LabelMode.SoftKl))
            throw new ArgumentException($"LabelOptions.Renormalize = true needs a soft Mode (SoftCrossEntropy or SoftKl); Mode = {Mode} has no soft labels.", nameof(Renormalize));
        if (!(BlockMinPurity is >= 0 and <= 1))
            throw new ArgumentException($"LabelOptions.BlockMinPurity = {BlockMinPurity} must be in [0, 1].", nameof(BlockMinPurity));
    }
}
