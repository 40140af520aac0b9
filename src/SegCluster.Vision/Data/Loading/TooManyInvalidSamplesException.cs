using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Training;

namespace SegCluster.Vision.Data.Loading;

/// <summary>More of a split's samples are unusable than the run allows (dataset.max_invalid_fraction): the dataset, not
/// one file, is wrong (a misnamed masks folder, masks in another encoding). Names the first bad file.</summary>
/// <param name="judged">Samples the limit was applied to: the split (<paramref name="count"/>), or those this rank has read.</param>
public sealed class TooManyInvalidSamplesException(int invalid, int judged, int count, double maxFraction, DatasetFileException first)
    : ExplainedRunException($"{invalid} of {(judged == count ? $"{count} samples" : $"the {judged} samples this rank has read (of {count})")} are unusable, " +
                $"more than dataset.max_invalid_fraction = {maxFraction:0.###} allows; the first: {first.Message}", first);
