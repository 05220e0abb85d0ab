using Dmuc.Actors.Telemetry;

namespace Dmuc.Actors.Replication;

/// <summary>Whether a primary/replica link carries the room (XEP-0282 §4.11).</summary>
public enum LinkState
{
    Linked,
    /// <summary>A ping went unanswered or a send bounced: the two sides do not talk until a netjoin.</summary>
    Split,
    /// <summary>The other side answered again; the netjoin resync is under way.</summary>
    Rejoining,
}

/// <summary>
/// The keepalive both ends of a link share (§4.10): when the other side was last heard from, the ping in flight, round-trip
/// times, and whether the link is split. Pure and event-shaped: <see cref="Process"/> decides what one command does (a ping to
/// send, the link found split, when to look again) and changes nothing; <see cref="Apply"/> alone changes the state, and reports
/// what it measures to <paramref name="telemetry"/>. <see cref="KeepaliveActor"/> hands it each command, sends the ping and
/// schedules the next check.
/// </summary>
/// <param name="keepsAlive">False for the service's own address, which has no room state to keep in step: its link is never split.</param>
public sealed class LinkKeepalive(ReplicationSettings settings, LinkTelemetry? telemetry = null, bool keepsAlive = true)
{
    // Weight of the newest sample in the moving average: smooths one slow answer without hiding a trend.
    private const double RttSmoothing = 0.2;
    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(10);

    private DateTimeOffset _lastHeard = DateTimeOffset.UtcNow;
    private DateTimeOffset _stateSince = DateTimeOffset.UtcNow;
    private (string Id, DateTimeOffset SentAt)? _pendingPing;
    private DateTimeOffset? _awaitingSince;
    private long _pingsSent;

    public LinkState State { get; private set; } = LinkState.Linked;
    public DateTimeOffset? SplitSince { get; private set; }
    public TimeSpan? LastRtt { get; private set; }
    public TimeSpan? AverageRtt { get; private set; }

    public bool IsLinked => State == LinkState.Linked;

    public bool KeepsAlive => keepsAlive;

    /// <summary>
    /// How long a linked end waits for the answer to something it sent that must be answered (a replica's forward, which
    /// the room acknowledges) before it takes the link as split: a keepalive round and a ping's wait, since an answer
    /// depends on the other end's work as well as the link.
    /// </summary>
    public TimeSpan AnswerTimeout => settings.KeepaliveInterval + settings.PingTimeout;

    public LinkTelemetry? Telemetry => telemetry;

    /// <summary>What is due now, and when to look again.</summary>
    public (KeepaliveAction Action, TimeSpan CheckAgainIn) Check(DateTimeOffset now)
    {
        var action = Due(now).Action;
        return (action, NextCheckIn(action, now));
    }

    /// <summary>What one command does. Changes nothing.</summary>
    public KeepaliveOutcome Process(LinkCommand command)
    {
        var now = command.Now;
        switch (command)
        {
            case KeepaliveDue due:
                var (action, why) = Due(now);
                var checkAgainIn = NextCheckIn(action, now);
                return action switch
                {
                    KeepaliveAction.MarkSplit => Split(why!, now) with { CheckAgainIn = checkAgainIn },
                    // An end with nothing to lose pings only to end a split.
                    KeepaliveAction.Ping when due.NothingToLose && IsLinked => new KeepaliveOutcome([]) { CheckAgainIn = checkAgainIn },
                    KeepaliveAction.Ping => new KeepaliveOutcome([new PingSent("ping-" + (_pingsSent + 1), now)])
                    {
                        PingId = "ping-" + (_pingsSent + 1),
                        CheckAgainIn = checkAgainIn,
                    },
                    _ => new KeepaliveOutcome([]) { CheckAgainIn = checkAgainIn },
                };
            case OtherEndHeard:
                return new KeepaliveOutcome([new HeardFromOtherEnd(now)]);
            case PongArrived pong:
                // Any pong is traffic; only the answer to the ping in flight gives a round trip.
                return new KeepaliveOutcome(_pendingPing is { } pending && pending.Id == pong.Id
                    ? [new HeardFromOtherEnd(now), new PingAnswered(now - pending.SentAt)]
                    : [new HeardFromOtherEnd(now)]);
            case SplitFound found:
                return keepsAlive && State != LinkState.Split ? Split(found.Reason, now) with { Reschedule = true } : KeepaliveOutcome.Nothing;
            case NetjoinUnderWay:
                return new KeepaliveOutcome([new LinkRejoining(now)]) { Reschedule = true };
            case ResyncProgressed:
                return State == LinkState.Rejoining ? new KeepaliveOutcome([new NetjoinAnswerArrived(now)]) : KeepaliveOutcome.Nothing;
            case NetjoinEnded:
                return new KeepaliveOutcome([new LinkLinked(now, now - SplitSince, State == LinkState.Rejoining ? now - _stateSince : null)]);
            case AnswerAwaited awaited when awaited.Since == _awaitingSince:
                return KeepaliveOutcome.Nothing;
            case AnswerAwaited awaited:
                return new KeepaliveOutcome([new AnswerAwaitedSince(awaited.Since)]) { Reschedule = _awaitingSince is null };
            default:
                throw new ArgumentOutOfRangeException(nameof(command), command, "not a command to a link's keepalive");
        }
    }

    /// <summary>Processes a command and applies what it decided; when it asks, the next check is counted from the state it left.</summary>
    public KeepaliveOutcome Handle(LinkCommand command)
    {
        var outcome = Process(command);
        foreach (var happened in outcome.Events) Apply(happened);
        return outcome.Reschedule ? outcome with { CheckAgainIn = Check(command.Now).CheckAgainIn } : outcome;
    }

    /// <summary>The only place the keepalive changes.</summary>
    public void Apply(LinkEvent happened)
    {
        switch (happened)
        {
            case HeardFromOtherEnd heard:
                _lastHeard = heard.At;
                break;
            case PingSent sent:
                _pingsSent++;
                _pendingPing = (sent.Id, sent.At);
                break;
            case PingAnswered answered:
                _pendingPing = null;
                LastRtt = answered.Rtt;
                telemetry?.RoundTripMeasured(answered.Rtt);
                AverageRtt = AverageRtt is { } average ? average * (1 - RttSmoothing) + answered.Rtt * RttSmoothing : answered.Rtt;
                break;
            case LinkMarkedSplit split:
                _pendingPing = null;
                SplitSince ??= split.At;
                MoveTo(LinkState.Split, split.At);
                break;
            case NetjoinAnswerArrived arrived when State == LinkState.Rejoining:
                _stateSince = arrived.At;
                break;
            case NetjoinAnswerArrived:
                break;
            case LinkRejoining rejoining:
                MoveTo(LinkState.Rejoining, rejoining.At);
                break;
            case LinkLinked linked:
                // The netjoin proved the link: a split ping still in flight (or lost with the cut) no longer counts.
                telemetry?.Linked(linked.SplitFor, linked.NetjoinTook);
                _pendingPing = null;
                SplitSince = null;
                _lastHeard = linked.At;
                MoveTo(LinkState.Linked, linked.At);
                break;
            case AnswerAwaitedSince awaited:
                _awaitingSince = awaited.Since;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(happened), happened, "not an event of a link's keepalive");
        }
    }

    private static KeepaliveOutcome Split(string reason, DateTimeOffset now) => new([new LinkMarkedSplit(now)]) { SplitReason = reason };

    /// <summary>What is due now, and why when it is a split.</summary>
    private (KeepaliveAction Action, string? Why) Due(DateTimeOffset now) => State switch
    {
        LinkState.Linked when _pendingPing is { } pending && now - pending.SentAt >= settings.PingTimeout => (KeepaliveAction.MarkSplit, "ping not answered in time"),
        LinkState.Linked when _awaitingSince is { } since && now - since >= AnswerTimeout => (KeepaliveAction.MarkSplit, "a forward was not acknowledged in time"),
        LinkState.Linked when _pendingPing is null && now - _lastHeard >= settings.KeepaliveInterval => (KeepaliveAction.Ping, null),
        // A netjoin whose resync never came failed: the link is split again and the next answer retries it.
        LinkState.Rejoining when now - _stateSince >= settings.PingTimeout => (KeepaliveAction.MarkSplit, "the netjoin got no answer"),
        // Split: ping on every check, giving up on the previous ping (its late answer still counts as traffic).
        LinkState.Split => (KeepaliveAction.Ping, null),
        _ => (KeepaliveAction.None, null),
    };

    private TimeSpan NextCheckIn(KeepaliveAction action, DateTimeOffset now)
    {
        if (action == KeepaliveAction.MarkSplit || State == LinkState.Split) return settings.SplitPingInterval;
        var next = State switch
        {
            LinkState.Rejoining => _stateSince + settings.PingTimeout - now,
            _ when action == KeepaliveAction.Ping => settings.PingTimeout,
            _ when _pendingPing is { } pending => pending.SentAt + settings.PingTimeout - now,
            _ => _lastHeard + settings.KeepaliveInterval - now,
        };
        if (State == LinkState.Linked && _awaitingSince is { } since && since + AnswerTimeout - now < next) next = since + AnswerTimeout - now;
        return next > MinimumWait ? next : MinimumWait;
    }

    private void MoveTo(LinkState state, DateTimeOffset now)
    {
        if (State == state) return;
        State = state;
        _stateSince = now;
        telemetry?.Moved(state);
    }
}

public enum KeepaliveAction
{
    None,
    Ping,
    MarkSplit,
}

/// <summary>What an end of a link is told or finds (<see cref="LinkKeepalive.Process"/>), at <see cref="Now"/>.</summary>
public abstract record LinkCommand(DateTimeOffset Now);

/// <summary>The end's timer fired: what is due? <paramref name="NothingToLose"/>: nobody is in the room here, so a linked end need not ping.</summary>
public sealed record KeepaliveDue(DateTimeOffset Now, bool NothingToLose = false) : LinkCommand(Now);

/// <summary>Anything from the other end: it proves the link carries traffic.</summary>
public sealed record OtherEndHeard(DateTimeOffset Now) : LinkCommand(Now);

/// <summary>A pong from the other end; it measures the round trip when it answers the ping in flight.</summary>
public sealed record PongArrived(string Id, DateTimeOffset Now) : LinkCommand(Now);

/// <summary>The link was found split (a send bounced, say), for <paramref name="Reason"/>.</summary>
public sealed record SplitFound(string Reason, DateTimeOffset Now) : LinkCommand(Now);

/// <summary>A netjoin started: the end waits a ping's timeout for its answer.</summary>
public sealed record NetjoinUnderWay(DateTimeOffset Now) : LinkCommand(Now);

/// <summary>A part of a netjoin's answer arrived: its wait starts again.</summary>
public sealed record ResyncProgressed(DateTimeOffset Now) : LinkCommand(Now);

/// <summary>The netjoin ended: the link is linked again.</summary>
public sealed record NetjoinEnded(DateTimeOffset Now) : LinkCommand(Now);

/// <summary>
/// The oldest thing sent that still waits for its answer (<paramref name="Since"/>; null: nothing waits). Unanswered past
/// <see cref="LinkKeepalive.AnswerTimeout"/>, it marks a linked end split, as an unanswered ping does.
/// </summary>
public sealed record AnswerAwaited(DateTimeOffset? Since, DateTimeOffset Now) : LinkCommand(Now);

/// <summary>What happened to an end of a link (<see cref="LinkKeepalive.Apply"/>).</summary>
public abstract record LinkEvent;

public sealed record HeardFromOtherEnd(DateTimeOffset At) : LinkEvent;

public sealed record PingSent(string Id, DateTimeOffset At) : LinkEvent;

/// <summary>The ping in flight was answered after <paramref name="Rtt"/>.</summary>
public sealed record PingAnswered(TimeSpan Rtt) : LinkEvent;

public sealed record LinkMarkedSplit(DateTimeOffset At) : LinkEvent;

/// <summary>A netjoin is under way: it has a ping's timeout for its answer.</summary>
public sealed record LinkRejoining(DateTimeOffset At) : LinkEvent;

/// <summary>A part of the netjoin's answer arrived: its wait starts again from <paramref name="At"/>.</summary>
public sealed record NetjoinAnswerArrived(DateTimeOffset At) : LinkEvent;

/// <param name="SplitFor">How long the link was split, when it was.</param>
/// <param name="NetjoinTook">How long the netjoin took, when this end waited for one.</param>
public sealed record LinkLinked(DateTimeOffset At, TimeSpan? SplitFor, TimeSpan? NetjoinTook) : LinkEvent;

public sealed record AnswerAwaitedSince(DateTimeOffset? Since) : LinkEvent;

/// <summary>
/// What one command to a link's keepalive decided: its events, a ping to send (<see cref="PingId"/>), the link found split
/// (<see cref="SplitReason"/>), and when to check again (<see cref="CheckAgainIn"/>; null: the timer stands).
/// </summary>
public sealed record KeepaliveOutcome(IReadOnlyList<LinkEvent> Events)
{
    public static readonly KeepaliveOutcome Nothing = new([]);

    public string? PingId { get; init; }
    public string? SplitReason { get; init; }
    public TimeSpan? CheckAgainIn { get; init; }
    /// <summary>The next check is to be counted again once the events are applied (<see cref="LinkKeepalive.Handle"/> does).</summary>
    public bool Reschedule { get; init; }
}
