using SegCluster.Vision.Data.Files;
using SegCluster.Vision.Inference;

namespace SegCluster.Vision.Tests.Inference;

public sealed class PredictionImagesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("segcluster-pred-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Label_png_reads_back_exactly()
    {
        const int h = 5, w = 7;
        var labels = Enumerable.Range(0, h * w).Select(p => (byte)(p % 19)).ToArray();
        labels[3] = 255;
        var path = Path.Combine(_dir, "labels.png");
        PredictionImages.WriteLabels(path, labels, h, w);
        var (read, rh, rw) = ImageDecoder.DecodeMask(path, MaskEncoding.Gray);
        Assert.Equal((h, w), (rh, rw));
        Assert.Equal(labels, read);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Train_ids_to_cityscapes_label_ids_round_trip_through_the_reader_mapping()
    {
        var trainIds = Enumerable.Range(0, 19).Select(i => (byte)i).Append((byte)255).ToArray();
        var labelIds = CityscapesReader.ToLabelIds(trainIds);
        Assert.Equal(7, labelIds[0]);    // road
        Assert.Equal(26, labelIds[13]);  // car
        Assert.Equal(33, labelIds[18]);  // bicycle
        Assert.Equal(0, labelIds[19]);   // ignore → unlabeled
        // The reader's labelId → trainId mapping (what the dataset and the evaluation server use) brings them back.
        var back = (byte[])labelIds.Clone();
        DatasetLayoutDetector.Open(WriteCityscapesStub(), "cityscapes").Mapping.Apply(back, "round-trip");
        Assert.Equal(trainIds, back);
    }

    [Fact]
    public void A_value_that_is_no_train_id_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => CityscapesReader.ToLabelIds([0, 19]));
        Assert.Contains("value 19 at pixel 1", error.Message);
    }

    /// <summary>The smallest tree the Cityscapes reader accepts (one train sample), to get its label mapping.</summary>
    private string WriteCityscapesStub()
    {
        var root = Path.Combine(_dir, "cityscapes");
        var stem = "aachen_000000_000019";
        Data.Files.ImageFileWriter.Rgb(Path.Combine(root, "leftImg8bit", "train", "aachen", stem + "_leftImg8bit.png"), new byte[2 * 2 * 3], 2, 2);
        Data.Files.ImageFileWriter.Gray(Path.Combine(root, "gtFine", "train", "aachen", stem + "_gtFine_labelIds.png"), new byte[4], 2, 2);
        return root;
    }
}
