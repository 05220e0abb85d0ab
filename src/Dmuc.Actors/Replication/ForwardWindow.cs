using System.Xml.Linq;

namespace Dmuc.Actors.Replication;

/// <summary>
/// A replica's forwards to its primary that the room has not acknowledged yet (docs/protocol/netjoin.md §2): each is
/// numbered, kept until a batch or an <c>&lt;ack/&gt;</c> says the room processed it, and reported in the netjoin's
/// <c>&lt;unacked/&gt;</c> if the link splits first, so that a stanza sent into a cut is neither lost nor processed twice.
/// Pure; one per replica room.
/// </summary>
/// <param name="session">Names this life of the replica: its numbers start at 1, and the room keeps its count per session.</param>
public sealed class ForwardWindow(string session)
{
    private readonly List<(long Number, HeldStanza Stanza)> _unacknowledged = [];
    // The unacknowledged forwards served to the local users when the link split (ReplicaRoomState.ServedAtSplit).
    private readonly HashSet<long> _servedHere = [];
    private long _next = 1;

    public string Session => session;

    /// <summary>The last number the room acknowledged.</summary>
    public long Acknowledged { get; private set; }

    public int Count => _unacknowledged.Count;

    /// <summary>When the oldest forward still waiting for its acknowledgement was sent; null when none waits.</summary>
    public DateTimeOffset? OldestSentAt => _unacknowledged.Count == 0 ? null : _unacknowledged[0].Stanza.ServedAt;

    /// <summary>The number the next forward gets (<see cref="Forward"/>).</summary>
    public ForwardNumber Next => new(session, _next, Acknowledged);

    /// <summary>Numbers a stanza about to be forwarded and keeps it until the room acknowledges it.</summary>
    /// <param name="resent">The server handed it again: the netjoin's report says so, should it carry it.</param>
    public ForwardNumber Forward(XElement stanza, DateTimeOffset now, bool resent = false)
    {
        var number = _next++;
        _unacknowledged.Add((number, new HeldStanza(stanza, now, resent)));
        return new ForwardNumber(session, number, Acknowledged);
    }

    /// <summary>The room processed everything up to the acknowledged number; false for another session's acknowledgement.</summary>
    public bool Acknowledge(ForwardAck ack)
    {
        if (ack.Session != session) return false;
        // Numbers never acknowledged beyond what was sent: an acknowledgement cannot make the window skip numbers.
        var upTo = Math.Min(ack.UpTo, _next - 1);
        if (upTo <= Acknowledged) return true;
        Acknowledged = upTo;
        _unacknowledged.RemoveAll(forward => forward.Number <= upTo);
        _servedHere.RemoveWhere(number => number <= upTo);
        return true;
    }

    /// <summary>The forwards still unacknowledged that were not served here yet, oldest first.</summary>
    public IEnumerable<XElement> NotServedHere => _unacknowledged.Where(forward => !_servedHere.Contains(forward.Number)).Select(forward => forward.Stanza.Stanza);

    /// <summary>The unacknowledged forward <paramref name="stanza"/> (this element) was served to the local users.</summary>
    public void ServedHere(XElement stanza)
    {
        foreach (var forward in _unacknowledged.Where(forward => ReferenceEquals(forward.Stanza.Stanza, stanza))) _servedHere.Add(forward.Number);
    }

    /// <summary>Whether <paramref name="stanza"/> (this element) waits for its acknowledgement.</summary>
    public bool Holds(XElement stanza) => _unacknowledged.Exists(forward => ReferenceEquals(forward.Stanza.Stanza, stanza));

    /// <summary>What the netjoin's report carries: every forward not acknowledged, in order; null when there is none.</summary>
    public UnacknowledgedForwards? Report() => _unacknowledged.Count == 0
        ? null
        : new UnacknowledgedForwards(session, _unacknowledged[0].Number, _unacknowledged.Select(forward => forward.Stanza).ToList());
}
