using SegCluster.Abstractions.Sweeps;
using SegCluster.Cli.Sweeps;

namespace SegCluster.EndToEnd.Tests;

/// <summary>What a sweep's report folder keeps of each trial beyond its metric: results.csv and results.json carry every
/// class's IoU (PAPERS.md §4's rare classes, §3's rare-class enrichment) and the labelled share of the training labels
/// (§2 block annotation's cost, §5 scribbles), as result.json does for one run.</summary>
public sealed class SweepReportTests
{
    private static readonly SweepSpec Spec = new() { Name = "s", Metric = SweepSpec.MeanIoU, Axes = [new SweepAxis { Path = "labels.mode", Values = ["full", "block"] }] };

    private static TrialResult Trial(int index, string mode, double miou, Dictionary<string, double?> classIoU) => new()
    {
        Index = index, Name = $"s-t{index:D3}", Parameters = [new AxisValue("labels.mode", mode)], State = TrialState.Completed,
        Metric = miou, MeanIoU = miou, ClassIoU = classIoU, LabelledFraction = mode == "block" ? 0.0625 : 1,
    };

    private static readonly SweepReport Report = new("s", SweepState.Completed, Spec,
    [
        Trial(0, "full", 0.5, new() { ["road"] = 0.9, ["rider"] = null }),
        Trial(1, "block", 0.6, new() { ["road"] = 0.8, ["rider"] = 0.25 }),
        new TrialResult { Index = 2, Name = "s-t002", Parameters = [new AxisValue("labels.mode", "full")], State = TrialState.Failed, Reason = "boom" },
    ], DateTime.UtcNow);

    [Fact]
    public void Results_csv_has_the_labelled_fraction_and_a_column_per_class_next_to_the_miou()
    {
        var csv = Report.ToCsv().Split('\n').Select(l => l.TrimEnd()).ToList();

        Assert.StartsWith("rank,trial,state,metric_miou,miou,pixel_accuracy,labelled_fraction,class_iou.road,class_iou.rider,final_loss,", csv[0]);
        Assert.StartsWith("1,s-t001,completed,0.6,0.6,,0.0625,0.8,0.25,", csv[1]);  // best first
        Assert.StartsWith("2,s-t000,completed,0.5,0.5,,1,0.9,,", csv[2]);     // a class absent from validation: empty
        Assert.StartsWith("3,s-t002,failed,,,,,,,", csv[3]);                 // no evaluation: no class values
    }

    [Fact]
    public void Results_json_keeps_each_trials_class_iou()
    {
        var json = Report.ToJson();

        Assert.Contains("\"class_iou\": {", json);
        var read = SweepReport.FromJson(json, "results.json");
        Assert.Equal(Report.Trials[1].ClassIoU, read.Trials[1].ClassIoU);
        Assert.Equal(new Dictionary<string, double?> { ["road"] = 0.9, ["rider"] = null }, read.Trials[0].ClassIoU);
        Assert.Null(read.Trials[2].ClassIoU);
    }
}
