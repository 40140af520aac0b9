using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Classification;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models.Backbones;

public sealed class BackboneWeightsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("segcluster-weights-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void ASavedBackboneLoadsIntoAnotherWithIdenticalTensors()
    {
        random.manual_seed(1);
        using var source = new TorchvisionResNet(18, width: 8);
        string path = Path.Combine(dir, "r18.dat");
        source.save(path);
        random.manual_seed(2);
        using var target = new TorchvisionResNet(18, width: 8);
        BackboneWeights.Load(target, path);
        foreach (var (key, t) in target.state_dict())
            Assert.True(t.eq(source.state_dict()[key]).all().item<bool>(), $"{key} differs after loading");
    }

    [Fact]
    public void AClassifierFileLoadsIntoEveryEncoderOfAModel()
    {
        random.manual_seed(1);
        using var classifier = new ResNetClassifier(18, numClasses: 10, width: 8);
        string path = Path.Combine(dir, "cls.dat");
        classifier.save(path);
        using var model = ModelRegistry.Create(new ModelOptions("spgnet", 4, 8, Backbone: "resnet18", BackboneWeights: path));
        var state = model.state_dict();
        Assert.True(state["encoder1.layer3.1.conv2.weight"].eq(classifier.state_dict()["layer3.1.conv2.weight"]).all().item<bool>());
        Assert.True(state["encoder2.conv1.weight"].eq(classifier.state_dict()["conv1.weight"]).all().item<bool>());
    }

    [Fact]
    public void AMismatchNamesTheKeyAndBothShapes()
    {
        using var source = new TorchvisionResNet(18, width: 8);
        string path = Path.Combine(dir, "r18w8.dat");
        source.save(path);
        using var wider = new TorchvisionResNet(18, width: 16);
        var error = Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(wider, path));
        Assert.Contains("key 'conv1.weight': file has shape [8, 3, 7, 7], model has [16, 3, 7, 7]", error.Message);

        using var deeper = new TorchvisionResNet(34, width: 8);
        error = Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(deeper, path));
        Assert.Contains("missing key 'layer1.2.conv1.weight'", error.Message);
    }

    /// <summary>The vit model loads backbone_weights into its transformer as the CNN models load theirs; it trained from
    /// random weights without a word before.</summary>
    [Fact]
    public void TheVitModelLoadsItsEncodersWeights()
    {
        random.manual_seed(1);
        using var source = new VisionTransformer(VitConfig.ForWidth(8));
        string path = Path.Combine(dir, "vit.dat");
        source.save(path);
        random.manual_seed(2);
        using var model = ModelRegistry.Create(new ModelOptions("vit", 4, 8, BackboneWeights: path));
        var state = model.state_dict();
        foreach (var (key, t) in source.state_dict())
            Assert.True(state[$"encoder.{key}"].eq(t).all().item<bool>(), $"encoder.{key} differs after loading");
    }

    /// <summary>A PyTorch torch.save file (zip since 1.6, pickle before) or a truncated state dict is named as such, not
    /// decoded as varints into garbage keys, overflows or an out-of-memory.</summary>
    [Fact]
    public void AFileThatIsNotATorchSharpStateDictIsNamed()
    {
        using var target = new TorchvisionResNet(18, width: 8);
        string zip = Path.Combine(dir, "r18.pth"), pickle = Path.Combine(dir, "old.pth"), truncated = Path.Combine(dir, "cut.dat");
        File.WriteAllBytes(zip, [(byte)'P', (byte)'K', 3, 4, 20, 0, 0, 0]);
        File.WriteAllBytes(pickle, [0x80, 2, 0x8a, 0x0a, 0x70]);
        target.save(truncated);
        var bytes = File.ReadAllBytes(truncated);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);

        Assert.Contains("is a PyTorch torch.save file", Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(target, zip)).Message);
        Assert.Contains("exportsd.py", Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(target, pickle)).Message);
        Assert.Contains("the file is truncated", Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(target, truncated)).Message);

        // One entry "fc.x" (a key the loader may ignore) claiming shape [3, 2^62] of float32: 3·2^62·4 bytes wraps to 0.
        string forged = Path.Combine(dir, "forged.dat");
        using (var writer = new BinaryWriter(File.Create(forged)))
        {
            writer.Write((byte)1);
            writer.Write("fc.x");
            writer.Write((byte)6);  // ScalarType.Float32
            writer.Write((byte)2);
            writer.Write((byte)3);
            writer.Write(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40 });  // 2^62 as a varint
        }
        Assert.Contains("the file is truncated", Assert.Throws<InvalidDataException>(() => BackboneWeights.Load(target, forged)).Message);
    }
}
