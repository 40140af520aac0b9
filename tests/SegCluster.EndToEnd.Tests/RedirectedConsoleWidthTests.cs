using SegCluster.Cli.Output;

namespace SegCluster.EndToEnd.Tests;

public sealed class RedirectedConsoleWidthTests
{
    [Theory]
    [InlineData(null, RedirectedConsoleWidth.Default)]
    [InlineData("132", 132)]
    [InlineData("0", RedirectedConsoleWidth.Default)]
    [InlineData("wide", RedirectedConsoleWidth.Default)]
    [InlineData("-80", RedirectedConsoleWidth.Default)]
    public void Columns_is_honoured_when_it_is_a_sensible_width(string? columns, int expected) =>
        Assert.Equal(expected, RedirectedConsoleWidth.For(columns));
}
