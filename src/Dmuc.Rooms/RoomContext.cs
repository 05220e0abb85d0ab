using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// The working space of one <see cref="RoomState.Process"/> call: a private copy of the room to which emitted
/// events are applied at once (so later steps see their effect, as the deliveries must), and the outputs.
/// </summary>
internal class RoomContext(RoomData room, DateTimeOffset now)
{
    private readonly List<RoomEvent> _events = [];
    private readonly List<Delivery> _deliveries = [];
    private ArchiveQuery? _archiveRead;
    private string? _archiveLookup;

    public RoomData Room { get; } = room;
    public MucServiceOptions Options => Room.Options;
    public DateTimeOffset Now { get; } = now;
    public IReadOnlyList<RoomEvent> Events => _events;

    public void Emit(RoomEvent @event)
    {
        _events.Add(@event);
        Room.Apply(@event);
    }

    public void Send(Jid to, XElement stanza) => _deliveries.Add(new Delivery(to, stanza));

    public void SendToSessions(Occupant occupant, XElement stanza)
    {
        // By index: an ImmutableList's enumerator rents a stack from a shared pool, per occupant of every broadcast (about a
        // third of building a broadcast's deliveries), where nearly every occupant has one session.
        var sessions = occupant.Sessions;
        for (var i = 0; i < sessions.Count; i++) Send(sessions[i].RealJid, stanza);
    }

    /// <summary>Sends one stanza instance to every session of every occupant that passes the filter.</summary>
    public void Broadcast(XElement stanza, Func<Occupant, bool>? filter = null)
    {
        var occupants = Room.OccupantsInOrder;
        // Room for one session each: the list grew through every power of two up to the room's size for each broadcast.
        _deliveries.EnsureCapacity(_deliveries.Count + occupants.Count);
        foreach (var occupant in occupants)
        {
            if (filter is null || filter(occupant)) SendToSessions(occupant, stanza);
        }
    }

    /// <summary>An accepted archive query: the actor answers it from the journal.</summary>
    public void ReadArchive(ArchiveQuery query) => _archiveRead = query;

    /// <summary>Nothing is decided until the archive says whether it holds this message.</summary>
    public void LookUpInArchive(string stanzaId) => _archiveLookup = stanzaId;

    public Decision ToDecision() => new(_events, _deliveries, _archiveRead, _archiveLookup);
}

/// <summary>A <see cref="RoomContext"/> for one incoming stanza, with the means to answer it.</summary>
internal sealed class StanzaContext(RoomData room, DateTimeOffset now, XElement stanza, Jid from, Jid to, DateTimeOffset? sentAt = null,
    ArchiveLookup? archiveLookup = null, bool resent = false, string? spokenAs = null)
    : RoomContext(room, now)
{
    /// <summary>The nick a sender the room let go had when a replica served its message (<see cref="HandleStanza.SpokenAs"/>).</summary>
    public string? SpokenAs { get; } = spokenAs;
    /// <summary>The server handed this stanza again after a stream the node may have processed it on (<see cref="HandleStanza.Resent"/>).</summary>
    public bool Resent { get; } = resent;
    /// <summary>What the archive said about a message the stanza names, when the room asked it (<see cref="HandleStanza.ArchiveLookup"/>).</summary>
    public ArchiveLookup? ArchiveLookup { get; } = archiveLookup;
    /// <summary>When the user sent the stanza, if that was before the room heard of it (<see cref="HandleStanza.SentAt"/>).</summary>
    public DateTimeOffset? SentAt { get; } = sentAt;
    public XElement Stanza { get; } = stanza;
    public Jid From { get; } = from;
    public Jid To { get; } = to;
    public string? Type => Stanza.Attribute("type")?.Value;
    public string Id => Stanza.Attribute("id")?.Value ?? "";
    /// <summary>The first child of an iq: its query.</summary>
    public XElement? Payload => Stanza.Elements().FirstOrDefault();

    public void Reply(XElement reply) => Send(From, reply);

    /// <summary>
    /// An error reply (RFC 6120 §8.2), by default from the address the stanza was sent to. A refused join keeps its
    /// &lt;x xmlns='http://jabber.org/protocol/muc'/&gt; (XEP-0045 §7.2): clients match the error to their join by it.
    /// <paramref name="conditionText"/> goes inside the condition (RFC 6120 §8.3.3.5: gone's new address).
    /// </summary>
    public void ReplyError(StanzaErrorCondition condition, string type, string? text = null, string? from = null, string? conditionText = null)
    {
        var reply = StanzaError.Reply(Stanza, condition, text, type);
        if (conditionText is not null) reply.Element(Ns.Client + "error")!.Element(Ns.Stanzas + condition.ElementName())!.Value = conditionText;
        reply.Attribute("to")?.Remove();
        reply.SetAttributeValue("from", from ?? To.ToString());
        if (Stanza.Name.LocalName == "presence" && Stanza.Element(Ns.Muc + "x") is not null) reply.AddFirst(new XElement(Ns.Muc + "x"));
        Reply(reply);
    }

    public void ReplyResult(XElement? payload = null) =>
        Reply(new XElement(Ns.Client + "iq",
            new XAttribute("type", "result"), new XAttribute("id", Id), new XAttribute("from", To.ToString()), payload));
}
