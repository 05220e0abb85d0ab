using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// What a replica keeps of one room (XEP-0282 §4.1): the room roster, its local occupants, the history,
/// and which local users really asked to be in the room. Pure: the replica room actor persists nothing and
/// only sends what <see cref="ApplyBatch"/> returns.
/// </summary>
public sealed class ReplicaRoomState(Jid room, string ownHost, int maxHistory = 100)
{
    private readonly HashSet<Jid> _askedToBeIn = [];
    private readonly Dictionary<Jid, string> _localOccupants = new();
    private readonly SortedDictionary<string, XElement> _roster = new(StringComparer.Ordinal);
    private readonly LinkedList<ReplicaHistoryEntry> _history = new();

    public Jid Room => room;
    public long LastSequence { get; private set; }
    public IReadOnlyDictionary<Jid, string> LocalOccupants => _localOccupants;
    /// <summary>Nick → the muc#user &lt;item/&gt; last broadcast for that occupant.</summary>
    public IReadOnlyDictionary<string, XElement> Roster => _roster;
    public IEnumerable<ReplicaHistoryEntry> History => _history;

    /// <summary>
    /// Notes a local user's stanza on its way to the primary: an available presence is the user's request to
    /// be in the room, which §4.5 requires before the replica adds them.
    /// </summary>
    public void RecordLocalStanza(XElement stanza)
    {
        if (stanza.Name.LocalName != "presence" || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return;
        switch (stanza.Attribute("type")?.Value)
        {
            case null:
                _askedToBeIn.Add(from);
                break;
            case "unavailable":
                _askedToBeIn.Remove(from);
                break;
        }
    }

    /// <summary>
    /// Takes one batch from the primary: entries first, then each stanza to its recipients (explicit, or every
    /// local occupant), then departures. Entries nobody asked for are refused and get nothing.
    /// </summary>
    public (IReadOnlyList<Delivery> Deliveries, IReadOnlyList<Jid> Refused) ApplyBatch(ReplicaBatch batch)
    {
        LastSequence = batch.Sequence;
        var refused = new List<Jid>();
        foreach (var enter in batch.Items.Select(item => (item.Enter, item.Stanza)).Where(e => e.Enter is not null))
        {
            var occupant = enter.Enter!.Occupant;
            if (occupant.Domain != ownHost || !_askedToBeIn.Contains(occupant))
            {
                refused.Add(occupant);
                continue;
            }
            _localOccupants[occupant] = NickOf(enter.Stanza) ?? occupant.ToString();
        }

        var deliveries = new List<Delivery>();
        foreach (var item in batch.Items)
        {
            Remember(item);
            var recipients = item.Recipients ?? _localOccupants.Keys.Where(jid => item.Except?.Contains(jid) != true).ToList();
            foreach (var recipient in recipients)
            {
                // A replica speaks only to its own host's users, and never to one whose entry it refused.
                if (recipient.Domain != ownHost || refused.Contains(recipient)) continue;
                deliveries.Add(new Delivery(recipient, item.Stanza));
            }
        }

        foreach (var leave in batch.Items.Select(item => item.Leave).OfType<Jid>())
        {
            _localOccupants.Remove(leave);
            _askedToBeIn.Remove(leave);
        }
        return (deliveries, refused);
    }

    private void Remember(ReplicaItem item)
    {
        var stanza = item.Stanza;
        if (stanza.Name.LocalName == "presence" && item.Recipients is null && NickOf(stanza) is { } nick)
        {
            if (stanza.Attribute("type")?.Value == "unavailable") _roster.Remove(nick);
            else if (stanza.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item") is { } rosterItem) _roster[nick] = rosterItem;
        }
        if (item.Delay is { } stamp)
        {
            _history.AddLast(new ReplicaHistoryEntry(stanza, stamp));
            while (_history.Count > maxHistory) _history.RemoveFirst();
        }
    }

    private string? NickOf(XElement stanza) =>
        Jid.TryParse(stanza.Attribute("from")?.Value, out var from) && from.Bare == room ? from.Resource : null;
}

public sealed record ReplicaHistoryEntry(XElement Message, DateTimeOffset AcceptedAt);
