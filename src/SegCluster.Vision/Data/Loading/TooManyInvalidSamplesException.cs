using SegCluster.Vision.Data.Files;

namespace SegCluster.Vision.Data.Loading;

/// <summary>More of a split's samples are unusable than the run allows (dataset.max_invalid_fraction): the dataset, not
/// one file, is wrong (a misnamed masks folder, masks in another encoding). Names the first bad file.</summary>
/// <param name="loaded">Samples this source loads: the split (<paramref name="count"/>) or a rank's slice of it.</param>
public sealed class TooManyInvalidSamplesException(int invalid, int loaded, int count, double maxFraction, DatasetFileException first)
    : Exception($"{invalid} of {(loaded == count ? $"{count} samples" : $"the {loaded} samples this rank loads (of {count})")} are unusable, " +
                $"more than dataset.max_invalid_fraction = {maxFraction:0.###} allows; the first: {first.Message}", first);
