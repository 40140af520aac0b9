using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;

namespace SegCluster.Vision.Tests.Training;

/// <summary>
/// A checkpoint's best validation names the file holding those weights (a best.ckpt, maybe another run's), and says
/// whether that file still holds them: it must exist and record the same best, as best.ckpt records its own; one deleted
/// or written over by a later best does not, and an older checkpoint's best (no path) names none.
/// </summary>
public sealed class BestValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segcluster-best-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes a tiny model's checkpoint recording <paramref name="best"/>, as rank 0 writes best.ckpt.</summary>
    private static void Save(string path, BestValidation best)
    {
        using var model = TestData.Model("encoder-decoder", 4, 4, NormKind.None);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()), new OptimizerOptions(LearningRate: 0.05), new SingleRankReducer());
        CheckpointStore.Save(path, trainer, best: best);
    }

    [Fact]
    public void The_best_checkpoint_that_records_the_best_holds_it()
    {
        var path = Path.Combine(_dir, "best.ckpt");
        var best = new BestValidation("miou", 0.4375, 4, path);
        Save(path, best);

        Assert.Equal(best, CheckpointStore.ReadMetadata(path).Best);  // the path round-trips through the header
        Assert.Null(best.PathProblem());
    }

    [Fact]
    public void A_deleted_best_checkpoint_is_named_as_gone()
    {
        var path = Path.Combine(_dir, "run1", "best.ckpt");
        Assert.Equal($"'{path}' no longer exists", new BestValidation("miou", 0.4375, 4, path).PathProblem());
    }

    /// <summary>The run that wrote it went on and wrote a better best over it: the file is there, but holds other weights.</summary>
    [Fact]
    public void A_best_checkpoint_written_over_by_a_later_best_no_longer_holds_the_earlier_one()
    {
        var path = Path.Combine(_dir, "best.ckpt");
        Save(path, new BestValidation("miou", 0.5, 8, path));

        Assert.Equal($"'{path}' no longer holds it: it was written over with the best of step 8", new BestValidation("miou", 0.4375, 4, path).PathProblem());
    }

    [Fact]
    public void A_best_recorded_before_paths_were_names_no_file()
    {
        Assert.Contains("older than best-checkpoint paths", new BestValidation("miou", 0.4375, 4).PathProblem());
    }
}
