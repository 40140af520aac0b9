using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SegCluster.Node.Hosting;

/// <summary>
/// The node's <see cref="ILoggerFactory"/>: the host's, except that while the host starts, an entry carrying a
/// <see cref="StartRefusal"/> is logged at Debug, and after one so is every entry below Error (the teardown of a node
/// that never ran). A refused node prints its one "error: …" line; before, the same exception went up through Orleans'
/// silo lifecycle (twice), the silo and the host, each of which logged it at Error with its stack before that line
/// (four stacks for a taken node id), and the teardown warned that the silo stopped non-gracefully. All of it is still
/// there at Debug (Logging:LogLevel:Default and Logging:LogLevel:Orleans = Debug). Once the host has started nothing is
/// demoted: an exception after that does not end the process with its line.
/// </summary>
public sealed class StartRefusalLoggerFactory(LoggerFactory inner) : ILoggerFactory
{
    private volatile bool _started, _refused;

    public ILogger CreateLogger(string categoryName) => new Logger(inner.CreateLogger(categoryName), this);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    /// <summary>Nothing: the container that created <c>inner</c> disposes it.</summary>
    public void Dispose() { }

    /// <summary>Ends the start window: called once every hosted service has started (the silo among them).</summary>
    public void HostStarted() => _started = true;

    /// <summary>The level an entry is logged at: <paramref name="level"/>, or Debug (see the class).</summary>
    private LogLevel LevelOf(LogLevel level, Exception? exception)
    {
        if (_started || level <= LogLevel.Debug) return level;
        if (exception is not null && StartRefusal.Find(exception) is not null)
        {
            _refused = true;
            return LogLevel.Debug;
        }
        return _refused && level < LogLevel.Error ? LogLevel.Debug : level;
    }

    private sealed class Logger(ILogger inner, StartRefusalLoggerFactory factory) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(factory.LevelOf(logLevel, exception), eventId, state, exception, formatter);
    }

    /// <summary>Calls <see cref="HostStarted"/> once every hosted service has started.</summary>
    private sealed class StartWindow(StartRefusalLoggerFactory factory) : IHostedLifecycleService
    {
        public Task StartedAsync(CancellationToken cancellationToken)
        {
            factory.HostStarted();
            return Task.CompletedTask;
        }

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Makes this the host's <see cref="ILoggerFactory"/>, around the <see cref="LoggerFactory"/> the host would
    /// have built (same providers and filter rules).</summary>
    public static void Register(IServiceCollection services)
    {
        services.TryAddSingleton<LoggerFactory>();
        services.TryAddSingleton<StartRefusalLoggerFactory>();
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(sp => sp.GetRequiredService<StartRefusalLoggerFactory>()));
        services.AddHostedService(sp => new StartWindow(sp.GetRequiredService<StartRefusalLoggerFactory>()));
    }
}
