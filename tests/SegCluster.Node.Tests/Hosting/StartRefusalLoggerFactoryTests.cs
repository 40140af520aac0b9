using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegCluster.Cluster.Nodes;
using SegCluster.Node.Hosting;

namespace SegCluster.Node.Tests.Hosting;

/// <summary>
/// A node refused at start (its id taken, a setting out of range) printed four stacks of the same exception, logged at
/// Error by Orleans' silo lifecycle, the silo and the host, before its one "error: …" line. While the host starts, those
/// entries and the teardown after them are logged at Debug; the level a user sets decides whether they show.
/// </summary>
public sealed class StartRefusalLoggerFactoryTests
{
    private static readonly NodeIdTakenException Taken = new("Node:NodeId 'n1' is taken");

    [Fact]
    public void A_refusal_while_the_host_starts_and_the_teardown_after_it_are_logged_at_Debug()
    {
        var (factory, entries) = Create(LogLevel.Information);
        var orleans = factory.CreateLogger("Orleans.Runtime.SiloLifecycleSubject");
        var host = factory.CreateLogger("Microsoft.Extensions.Hosting.Internal.Host");

        orleans.LogWarning("Silo n1 migrated");  // before the refusal: as logged
        orleans.LogError(Taken, "'DuplicateNodeCheck' failed to start");
        host.LogError(new AggregateException(Taken, new OptionsValidationException("Node", typeof(object), ["out of range"])), "Hosting failed to start");
        orleans.LogWarning("Silo shutdown completed (non-graceful).");
        host.LogError(new InvalidOperationException("something else"), "a teardown failure");  // not a refusal: an error still shows

        Assert.Equal(["Warning Silo n1 migrated", "Error a teardown failure InvalidOperationException"], entries);
    }

    [Fact]
    public void At_Debug_the_refusal_keeps_its_exception()
    {
        var (factory, entries) = Create(LogLevel.Debug);
        factory.CreateLogger("Orleans.Runtime.Silo").LogError(Taken, "Exception during Silo.Start");
        Assert.Equal(["Debug Exception during Silo.Start NodeIdTakenException"], entries);
    }

    [Fact]
    public void Once_the_host_has_started_nothing_is_demoted()
    {
        var (factory, entries) = Create(LogLevel.Information);
        factory.HostStarted();
        factory.CreateLogger("Orleans.Runtime.Catalog").LogError(new OptionsValidationException("Sweeps", typeof(object), ["bad"]), "activation failed");
        Assert.Equal(["Error activation failed OptionsValidationException"], entries);
    }

    [Fact]
    public void The_node_logs_through_it()
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddSegClusterNode();
        using var app = builder.Build();
        Assert.IsType<StartRefusalLoggerFactory>(app.Services.GetRequiredService<ILoggerFactory>());
    }

    /// <summary>The factory around a LoggerFactory at <paramref name="level"/>; entries as "Level message [exception type]".</summary>
    private static (StartRefusalLoggerFactory Factory, List<string> Entries) Create(LogLevel level)
    {
        var entries = new List<string>();
        var inner = new LoggerFactory([new CapturingProvider(entries)], new LoggerFilterOptions { MinLevel = level });
        return (new StartRefusalLoggerFactory(inner), entries);
    }

    private sealed class CapturingProvider(List<string> entries) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Capturing(entries);
        public void Dispose() { }

        private sealed class Capturing(List<string> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Add($"{logLevel} {formatter(state, exception)}{(exception is null ? "" : $" {exception.GetType().Name}")}");
        }
    }
}
