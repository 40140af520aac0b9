using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Data.Loading;

/// <summary>More of a split's samples are unusable than the run allows (dataset.max_invalid_fraction): the dataset, not
/// one file, is wrong (a misnamed masks folder, masks in another encoding). Names the first bad file.</summary>
public sealed class TooManyInvalidSamplesException(int invalid, int count, double maxFraction, DatasetFileException first)
    : Exception($"{invalid} of {count} samples are unusable, more than dataset.max_invalid_fraction = {maxFraction:0.###} allows; the first: {first.Message}", first);
