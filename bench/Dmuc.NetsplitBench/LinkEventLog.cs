using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Event;

namespace Dmuc.NetsplitBench;

/// <summary>What a link end logged, and where: the moments the benchmark times come from the nodes' own logs.</summary>
public enum LinkEventKind
{
    /// <summary>The primary's link marked its replica split.</summary>
    PrimarySplit,
    /// <summary>The replica marked itself split from its primary.</summary>
    ReplicaSplit,
    /// <summary>The replica heard from its primary across the split and sent its netjoin report.</summary>
    NetjoinStarted,
    /// <summary>The room processed the replica's report and planned the resync.</summary>
    ReportProcessed,
    /// <summary>The primary's link sent the resync batch.</summary>
    ResyncSent,
    /// <summary>The replica applied the resync and is linked again.</summary>
    ReplicaRejoined,
}

/// <param name="Node">The host whose node logged it.</param>
/// <param name="Room">The room's JID as logged.</param>
/// <param name="Peer">The replica host named by a primary-side event; null on the replica side.</param>
public sealed record LinkEvent(LinkEventKind Kind, string Node, string Room, string? Peer, DateTime At);

/// <summary>
/// Every link event the nodes of this process logged, with the log event's own timestamp. Filled by
/// <see cref="LinkEventLogger"/>, the only Akka logger of the benchmark's actor systems.
/// </summary>
public static class LinkEventLog
{
    private static readonly (LinkEventKind Kind, Regex Pattern)[] Patterns =
    [
        (LinkEventKind.PrimarySplit, new Regex(@"^Room (?<room>\S+): replica (?<peer>\S+) Split \(")),
        (LinkEventKind.ReplicaSplit, new Regex(@"^Replica of (?<room>\S+): Split from its primary")),
        (LinkEventKind.NetjoinStarted, new Regex(@"^Replica of (?<room>\S+): netjoin \S+ started")),
        (LinkEventKind.ReportProcessed, new Regex(@"^Room (?<room>\S+): netjoin \S+ of (?<peer>\S+) with")),
        (LinkEventKind.ResyncSent, new Regex(@"^Room (?<room>\S+): replica (?<peer>\S+) Linked again \(netjoin")),
        (LinkEventKind.ReplicaRejoined, new Regex(@"^Replica of (?<room>\S+): Linked to its primary again")),
    ];

    private static readonly ConcurrentDictionary<ActorSystem, string> HostOfSystem = new();
    private static readonly ConcurrentQueue<(ActorSystem System, LinkEventKind Kind, string Room, string? Peer, DateTime At)> Events = new();

    /// <summary>Names the node an actor system stands for; events are attributed when read.</summary>
    public static void Register(ActorSystem system, string host) => HostOfSystem[system] = host;

    public static IReadOnlyList<LinkEvent> All =>
        Events.Select(e => new LinkEvent(e.Kind, HostOfSystem.GetValueOrDefault(e.System, "?"), e.Room, e.Peer, e.At)).ToList();

    /// <summary>The first event of <paramref name="kind"/> for the room's link to <paramref name="replicaHost"/> after <paramref name="after"/>.</summary>
    public static LinkEvent? First(LinkEventKind kind, string room, string replicaHost, DateTime after) =>
        All.Where(e => e.Kind == kind && e.Room == room && e.At >= after && (e.Peer ?? e.Node) == replicaHost)
            .OrderBy(e => e.At).FirstOrDefault();

    /// <summary>Waits for <see cref="First"/>; null when it did not come in time.</summary>
    public static async Task<LinkEvent?> WaitForAsync(LinkEventKind kind, string room, string replicaHost, DateTime after, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (First(kind, room, replicaHost, after) is { } found) return found;
            if (DateTime.UtcNow > deadline) return null;
            await Task.Delay(10);
        }
    }

    internal static void Record(ActorSystem system, LogEvent logEvent)
    {
        var text = logEvent.Message?.ToString() ?? "";
        foreach (var (kind, pattern) in Patterns)
        {
            var match = pattern.Match(text);
            if (!match.Success) continue;
            Events.Enqueue((system, kind, match.Groups["room"].Value, match.Groups["peer"].Success ? match.Groups["peer"].Value : null,
                logEvent.Timestamp.ToUniversalTime()));
            return;
        }
        // Anything else worth a warning is shown: a benchmark that hides trouble measures the wrong thing.
        if (logEvent.LogLevel() >= LogLevel.WarningLevel)
            Console.Error.WriteLine($"[{HostOfSystem.GetValueOrDefault(system, "?")}] {logEvent.LogLevel()} {logEvent.LogSource}: {text}" +
                                    (logEvent.Cause is { } cause ? $" ({cause.GetType().Name}: {cause.Message})" : ""));
    }
}

/// <summary>The Akka logger of the benchmark's nodes (<c>akka.loggers</c>): hands every log event to <see cref="LinkEventLog"/>.</summary>
public sealed class LinkEventLogger : ReceiveActor
{
    public LinkEventLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(logEvent => LinkEventLog.Record(Context.System, logEvent));
    }
}
