using SegCluster.Abstractions;

namespace SegCluster.Abstractions.Tests;

/// <summary>Messages printed to users carry no " (Parameter 'name')" of the code that threw.</summary>
public sealed class UserMessagesTests
{
    [Fact]
    public void The_parameter_suffix_is_dropped_and_nothing_else()
    {
        Assert.Equal("'/data' is not a voc dataset.", new ArgumentException("'/data' is not a voc dataset.", "root").UserMessage());
        Assert.Equal("no parameter", new ArgumentException("no parameter").UserMessage());
        Assert.Equal("ends (Parameter 'other')", new ArgumentException("ends (Parameter 'other')").UserMessage());  // not its own
        Assert.Equal("busy", new InvalidOperationException("busy").UserMessage());
    }
}
