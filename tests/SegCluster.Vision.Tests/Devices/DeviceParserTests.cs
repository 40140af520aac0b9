using SegCluster.Vision.Devices;
using TorchSharp;

namespace SegCluster.Vision.Tests.Devices;

public class DeviceParserTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData(" CPU ")]
    public void ParsesCpu(string text) => Assert.Equal(DeviceType.CPU, DeviceParser.Parse(text).type);

    [Theory]
    [InlineData("gpu0")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("")]
    public void RejectsUnknownFormsNamingTheStringAndTheValidForms(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => DeviceParser.Parse(text));
        Assert.Contains($"\"{text}\"", error.Message);
        Assert.Contains("cuda:N", error.Message);
        Assert.Contains("\"cpu\"", error.Message);
    }

    [CpuOnlyFact]
    public void CudaWithoutCudaIsAClearInvalidOperation()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DeviceParser.Parse("cuda:0"));
        Assert.Contains("CUDA is not available", error.Message);
    }
}
