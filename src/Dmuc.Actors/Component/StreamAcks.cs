using System.Globalization;
using System.Xml.Linq;
using Akka.Actor;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Component;

/// <summary>
/// The node's side of acknowledged stanzas on the component stream (docs/protocol/stream-ack.md): the iq that asks the
/// server for them, how its answer reads, and the acknowledgement itself.
/// </summary>
public static class StreamAckProtocol
{
    public static readonly XNamespace Ns = "urn:xmpp:tmp:dmuc:ack:0";

    // Nothing else the node sends uses this id.
    private const string EnableId = "dmuc-ack-enable";

    /// <summary>Asked of the component's own domain: the server's module answers; a server without one routes it back to the node.</summary>
    public static XElement Enable(string componentDomain) => new(Dmuc.Xmpp.Ns.Client + "iq",
        new XAttribute("type", "set"), new XAttribute("id", EnableId), new XAttribute("from", componentDomain), new XAttribute("to", componentDomain),
        new XElement(Ns + "enable"));

    /// <summary>
    /// Whether <paramref name="stanza"/> settles the negotiation: the server's answer to <see cref="Enable"/>, or the request
    /// itself come back (the server has no module and routed it to its addressee, this component). Neither is numbered.
    /// </summary>
    public static bool IsNegotiation(XElement stanza, string componentDomain) =>
        stanza.Name == Dmuc.Xmpp.Ns.Client + "iq" && (string?)stanza.Attribute("id") == EnableId
        && ((string?)stanza.Attribute("type") is "result" or "error"
            || ((string?)stanza.Attribute("from") == componentDomain && stanza.Element(Ns + "enable") is not null));

    /// <summary>How many of the stanzas that follow the server hands again (its previous stream's unacknowledged), or null: not enabled.</summary>
    public static long? ResentAfter(XElement negotiation) =>
        (string?)negotiation.Attribute("type") == "result" && negotiation.Element(Ns + "enabled") is { } enabled
            ? long.TryParse((string?)enabled.Attribute("resent"), out var resent) && resent >= 0 ? resent : 0
            : null;

    /// <summary>The first <paramref name="handled"/> stanzas of this stream have their outcome.</summary>
    public static XElement Ack(long handled) => new(Ns + "a", new XAttribute("h", handled));

    /// <summary>
    /// Stanza <paramref name="number"/> of this stream was served to its users by the node itself (a split replica) and is kept for its
    /// room: should the node not acknowledge it, the server hands it to the next stream with <see cref="ServedMark"/> (stream-ack.md §8).
    /// </summary>
    public static XElement Served(long number) => new(Ns + "served", new XAttribute("n", number));

    private static readonly XName ServedMark = Ns + "served";

    /// <summary>
    /// Whether the server marked <paramref name="stanza"/> as served by the node's previous stream; the mark is removed, and one in
    /// a stanza that is not <paramref name="resent"/> (a user's own) counts for nothing.
    /// </summary>
    public static bool TakeServedMark(XElement stanza, bool resent)
    {
        var marks = stanza.Elements(ServedMark).ToList();
        marks.ForEach(mark => mark.Remove());
        return resent && marks.Count > 0;
    }

    /// <summary>
    /// When the server first handed a stanza it hands again (its XEP-0203 delay from the component's own domain, which the
    /// server's module puts on each resend), and the stanza without that delay: the node's previous life may have answered it
    /// then (a split replica serves its users' messages itself), so the room dates it, and delays its copies, as it does what a
    /// replica held through a split. Null, and the stanza as it is, when it carries no such delay.
    /// </summary>
    public static (XElement Stanza, DateTimeOffset? HandedAt) FirstHanded(XElement stanza, string componentDomain)
    {
        var stamps = stanza.Elements(Dmuc.Xmpp.Ns.Delay + "delay").Where(delay => (string?)delay.Attribute("from") == componentDomain).ToList();
        if (stamps.Count == 0) return (stanza, null);
        var handedAt = DateTimeOffset.TryParse((string?)stamps[^1].Attribute("stamp"), CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out var stamp) ? stamp : (DateTimeOffset?)null;
        var withoutStamps = new XElement(stanza);
        withoutStamps.Elements(Dmuc.Xmpp.Ns.Delay + "delay").Where(delay => (string?)delay.Attribute("from") == componentDomain).Remove();
        return (withoutStamps, handedAt);
    }
}

/// <summary>
/// Numbers what the server hands the node once acknowledgements are on, in the order read (the server counts the same
/// way); the first <c>resent</c> are what the server kept from the node's previous stream. The stream's reading thread
/// alone uses it.
/// </summary>
public sealed class StreamNumbering(IActorRef acknowledger, long connection)
{
    private long _resent;
    private long _last;
    private bool _started;

    public void Start(long resent)
    {
        _resent = resent;
        _started = true;
    }

    /// <summary>The next stanza's receipt, or null while acknowledgements are off.</summary>
    /// <param name="stanza">The stanza read, whose server's mark of it as served before (<see cref="StreamAckProtocol.TakeServedMark"/>) is
    /// taken off into the receipt; none for one the parser refused.</param>
    public StreamReceipt? Next(XElement? stanza = null)
    {
        if (!_started) return null;
        _last++;
        var resent = _last <= _resent;
        return new StreamReceipt(acknowledger, connection, _last, resent, ServedBefore: stanza is not null && StreamAckProtocol.TakeServedMark(stanza, resent));
    }
}

/// <summary>
/// Where a numbered stanza's outcome is reported once it is durable: journaled (or sent, when it changed nothing durable),
/// or answered with an error. <paramref name="Resent"/>: the server handed it again after a stream that may have processed it;
/// <paramref name="ServedBefore"/>: with the mark that that stream served it to its users itself (a split replica).
/// </summary>
public sealed record StreamReceipt(IActorRef Acknowledger, long Connection, long Number, bool Resent, bool ServedBefore = false)
{
    public void Settle() => Acknowledger.Tell(new ComponentConnectionActor.StanzaSettled(Connection, Number));

    /// <summary>The node served the stanza to its users and keeps it for its room: the server is to say so should it hand it again.</summary>
    public void MarkServed() => Acknowledger.Tell(new ComponentConnectionActor.StanzaServed(Connection, Number));
}

/// <summary>
/// Which stanzas of one stream the node may acknowledge: outcomes become durable out of order (each room writes on its own),
/// and the server is told the longest prefix that has them all, coalesced. A gap that stays open for
/// <paramref name="settleTimeout"/> while later stanzas settled (the stanza's room stopped on a journal failure, say) is
/// passed over, so that one lost receipt does not hold the server's queue until it refuses everyone.
/// </summary>
public sealed class StreamAckWindow(DateTimeOffset now, TimeSpan settleTimeout)
{
    private readonly SortedSet<long> _settledAhead = [];
    private long _reported;
    private DateTimeOffset _progressAt = now;

    /// <summary>Every stanza up to this one has its outcome.</summary>
    public long Settled { get; private set; }

    public void Settle(long number, DateTimeOffset now)
    {
        if (number <= Settled) return;
        if (number != Settled + 1)
        {
            if (_settledAhead.Count == 0) _progressAt = now;
            _settledAhead.Add(number);
            return;
        }
        Settled = number;
        while (_settledAhead.Remove(Settled + 1)) Settled++;
        _progressAt = now;
    }

    /// <summary>The count to acknowledge now, or null when the server has been told everything settled.</summary>
    public long? AckDue()
    {
        if (Settled <= _reported) return null;
        _reported = Settled;
        return Settled;
    }

    /// <summary>The stanzas passed over because their gap outlived the timeout (none, mostly).</summary>
    public (long First, long Last)? PassOverdueGap(DateTimeOffset now)
    {
        if (_settledAhead.Count == 0 || now - _progressAt < settleTimeout) return null;
        var gap = (First: Settled + 1, Last: _settledAhead.Min - 1);
        Settled = gap.Last;
        while (_settledAhead.Remove(Settled + 1)) Settled++;
        _progressAt = now;
        return gap;
    }
}
