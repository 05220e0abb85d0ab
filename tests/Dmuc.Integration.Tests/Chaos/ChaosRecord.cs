using System.Diagnostics;

namespace Dmuc.Integration.Tests.Chaos;

/// <summary>A groupchat message a chaos user sent: body "chaos USER SEQUENCE", id = <see cref="Key"/>.</summary>
public sealed record SentMessage(string Key, string Sender, int Session, TimeSpan SentAt);

/// <summary>The room's copy of a message as one session received it; <paramref name="Delayed"/> when it carried XEP-0203 delay.</summary>
public sealed record Receipt(string Key, bool Delayed, TimeSpan At);

/// <summary>An error the sender got for one of its messages.</summary>
public sealed record Bounce(string Key, string Condition, TimeSpan At);

/// <summary>How a session in the room ended.</summary>
public enum SessionEnd
{
    /// <summary>It was still in the room when the run ended.</summary>
    StillIn,
    /// <summary>Its XMPP stream broke (its server was killed): it was not told, the room has to find out.</summary>
    StreamLost,
    /// <summary>The room said it was out (unavailable self-presence); the user enters again.</summary>
    RemovedByRoom,
}

/// <summary>
/// One stay of a user in the room under one nick, from its self-presence (110) to its end: everything it received,
/// and the departures of others it saw (nick → when).
/// </summary>
public sealed record RoomSession(
    string User, string Host, string Nick, int Number, TimeSpan JoinedAt, TimeSpan? EndedAt, SessionEnd End, string? RemovalStatus,
    IReadOnlyList<Receipt> Receipts, IReadOnlyDictionary<string, TimeSpan> DeparturesSeen)
{
    public bool CoversEnd => End == SessionEnd.StillIn;

    /// <summary>True if the session was in the room over the whole interval.</summary>
    public bool Spans(TimeSpan from, TimeSpan to) => JoinedAt <= from && (EndedAt is null || EndedAt >= to);
}

/// <summary>A fault as it was carried out: when it hit, and when the topology had it undone (healed, restarted and listening).</summary>
/// <param name="InjectedAt">When its command started.</param>
/// <param name="InjectedBy">When its command returned (a kill under load takes a while): the fault took effect in between.</param>
public sealed record InjectedFault(Fault Planned, TimeSpan InjectedAt, TimeSpan RecoveredAt, string? Problem, TimeSpan? InjectedBy = null);

/// <summary>What a newcomer on a host saw when it entered after the run: who was in, and the room's history.</summary>
public sealed record WitnessView(string Host, string Nick, IReadOnlyList<string>? Occupants, IReadOnlyList<string>? History, string? Problem);

/// <summary>Everything a run recorded, for <see cref="ChaosChecker"/>.</summary>
/// <param name="HostsKeepingHandedStanzas">The hosts whose server keeps what it hands its Dmuc node until the node acknowledges it
/// (Prosody with mod_dmuc_stream_ack, docs/protocol/stream-ack.md): a message handed to such a node that was then killed gets its
/// outcome from the resend.</param>
public sealed record ChaosRecord(
    IReadOnlyList<SentMessage> Sent, IReadOnlyList<Bounce> Bounces, IReadOnlyList<RoomSession> Sessions,
    IReadOnlyList<InjectedFault> Faults, IReadOnlyList<WitnessView> Witnesses, TimeSpan GhostBound,
    ISet<string>? HostsKeepingHandedStanzas = null);

/// <summary>The run's clock: every time in a <see cref="ChaosRecord"/> is measured from its start, in this one process.</summary>
public sealed class ChaosClock
{
    private readonly Stopwatch _stopwatch = Stopwatch.StartNew();

    public TimeSpan Now => _stopwatch.Elapsed;
}
