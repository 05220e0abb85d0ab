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
/// The keepalive bookkeeping both ends of a link share (§4.10): when the other side was last heard from, the
/// ping in flight, round-trip times, and whether the link is split. Pure; the actors drive it with one timer,
/// asking <see cref="Check"/> what is due whenever it fires. What it measures also goes to <paramref name="telemetry"/>.
/// </summary>
public sealed class LinkKeepalive(ReplicationSettings settings, LinkTelemetry? telemetry = null)
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

    /// <summary>
    /// How long a linked end waits for the answer to something it sent that must be answered (a replica's forward, which
    /// the room acknowledges) before it takes the link as split: a keepalive round and a ping's wait, since an answer
    /// depends on the other end's work as well as the link.
    /// </summary>
    public TimeSpan AnswerTimeout => settings.KeepaliveInterval + settings.PingTimeout;

    public LinkTelemetry? Telemetry => telemetry;

    /// <summary>What the owner should do now, and when to look again.</summary>
    public (KeepaliveAction Action, TimeSpan CheckAgainIn) Check(DateTimeOffset now)
    {
        var action = State switch
        {
            LinkState.Linked when _pendingPing is { } pending && now - pending.SentAt >= settings.PingTimeout => KeepaliveAction.MarkSplit,
            LinkState.Linked when _awaitingSince is { } since && now - since >= AnswerTimeout => KeepaliveAction.MarkSplit,
            LinkState.Linked when _pendingPing is null && now - _lastHeard >= settings.KeepaliveInterval => KeepaliveAction.Ping,
            // A netjoin whose resync never came failed: the link is split again and the next answer retries it.
            LinkState.Rejoining when now - _stateSince >= settings.PingTimeout => KeepaliveAction.MarkSplit,
            // Split: ping on every check, giving up on the previous ping (its late answer still counts as traffic).
            LinkState.Split => KeepaliveAction.Ping,
            _ => KeepaliveAction.None,
        };
        return (action, NextCheckIn(action, now));
    }

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

    /// <summary>
    /// The oldest thing sent that still waits for its answer (null: nothing waits). Unanswered past
    /// <see cref="AnswerTimeout"/>, it marks a linked end split, as an unanswered ping does.
    /// </summary>
    public void AwaitingAnswerSince(DateTimeOffset? since) => _awaitingSince = since;

    /// <summary>Anything from the other side proves the link carries traffic.</summary>
    public void Heard(DateTimeOffset now) => _lastHeard = now;

    /// <summary>Starts a ping and returns its id.</summary>
    public string StartPing(DateTimeOffset now)
    {
        var id = "ping-" + ++_pingsSent;
        _pendingPing = (id, now);
        return id;
    }

    /// <summary>A pong; the round trip is measured when it answers the ping in flight.</summary>
    public void Answered(string id, DateTimeOffset now)
    {
        Heard(now);
        if (_pendingPing is not { } pending || pending.Id != id) return;
        _pendingPing = null;
        var rtt = now - pending.SentAt;
        LastRtt = rtt;
        telemetry?.RoundTripMeasured(rtt);
        AverageRtt = AverageRtt is { } average ? average * (1 - RttSmoothing) + rtt * RttSmoothing : rtt;
    }

    public void MarkSplit(DateTimeOffset now)
    {
        _pendingPing = null;
        SplitSince ??= now;
        MoveTo(LinkState.Split, now);
    }

    public void MarkRejoining(DateTimeOffset now) => MoveTo(LinkState.Rejoining, now);

    /// <summary>A netjoin's answer is arriving (a part of a resync): its wait starts again from now.</summary>
    public void RejoiningProgressed(DateTimeOffset now)
    {
        if (State == LinkState.Rejoining) _stateSince = now;
    }

    /// <summary>The netjoin proved the link: a split ping still in flight (or lost with the cut) no longer counts.</summary>
    public void MarkLinked(DateTimeOffset now)
    {
        telemetry?.Linked(now - SplitSince, State == LinkState.Rejoining ? now - _stateSince : null);
        _pendingPing = null;
        SplitSince = null;
        Heard(now);
        MoveTo(LinkState.Linked, now);
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
