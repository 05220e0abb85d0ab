using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Dmuc.Host;

/// <summary>The node's log file, bound from "Dmuc:Logs". On unless <see cref="File"/> is set to an empty string.</summary>
public sealed class LogFileOptions
{
    /// <summary>
    /// Path of the JSON log file; the date goes before the extension (dmuc-20261124.json) and a sequence number after
    /// it when a day's file reaches <see cref="FileSizeLimitBytes"/>. Default: logs/dmuc-.json under the data folder.
    /// </summary>
    public string? File { get; set; }

    public long FileSizeLimitBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Older files beyond this many are deleted.</summary>
    public int RetainedFiles { get; set; } = 14;

    public RollingInterval RollingInterval { get; set; } = RollingInterval.Day;

    public string? PathUnder(string data) => File switch
    {
        null => Path.Combine(data, "logs", "dmuc-.json"),
        "" => null,
        var path => path,
    };
}

/// <summary>
/// Serilog for the node: levels and any extra sinks from the "Serilog" configuration section; always the console and,
/// unless turned off, a rolling file of compact JSON events; every event carries the node's cluster address (Node),
/// the XMPP host it serves (HostDomain) and the MUC domain (Domain), and those of a room's actors the room
/// (<see cref="RoomLogEnricher"/>).
/// </summary>
public static class NodeLogging
{
    private const string ConsoleTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    public static LoggerConfiguration Configure(LoggerConfiguration logger, Microsoft.Extensions.Configuration.IConfiguration configuration,
        NodeOptions options, NodeAddressEnricher node)
    {
        logger.ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext()
            .Enrich.With(node)
            .Enrich.With<RoomLogEnricher>()
            .Enrich.WithProperty("Domain", options.Domain)
            .WriteTo.Console(outputTemplate: ConsoleTemplate);
        if (!string.IsNullOrWhiteSpace(options.HostDomain)) logger.Enrich.WithProperty("HostDomain", options.HostDomain.ToLowerInvariant());
        if (options.Logs.PathUnder(options.Data) is { } path)
        {
            logger.WriteTo.File(new CompactJsonFormatter(), path, rollingInterval: options.Logs.RollingInterval,
                fileSizeLimitBytes: options.Logs.FileSizeLimitBytes, rollOnFileSizeLimit: true,
                retainedFileCountLimit: options.Logs.RetainedFiles);
        }
        return logger;
    }
}

/// <summary>
/// Adds the node's cluster address. Until the actor system is up it is the configured one; then the real one (a
/// configured port 0 becomes the port actually bound).
/// </summary>
public sealed class NodeAddressEnricher(string configuredAddress) : ILogEventEnricher
{
    private LogEventProperty _property = new("Node", new ScalarValue(configuredAddress));

    public void Started(string address) => Volatile.Write(ref _property, new LogEventProperty("Node", new ScalarValue(address)));

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory) =>
        logEvent.AddPropertyIfAbsent(Volatile.Read(ref _property));
}
