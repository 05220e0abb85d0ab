using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// What a replica keeps of one room (XEP-0282 §4.1): the room roster, its local occupants, the history,
/// and which local users really asked to be in the room; during a netsplit (§4.11.1), what its users did
/// alone, for the netjoin. Pure: the replica room actor persists nothing and only sends what this returns.
/// </summary>
public sealed class ReplicaRoomState(Jid room, string ownHost, int maxHistory = 100)
{
    /// <summary>What a replica user hears when the room cannot take their stanza during a netsplit.</summary>
    public const string SplitErrorText = "the room is split from its primary; try again shortly";

    private readonly HashSet<Jid> _askedToBeIn = [];
    private readonly Dictionary<Jid, string> _localOccupants = new();
    private readonly SortedDictionary<string, RosterEntry> _roster = new(StringComparer.Ordinal);
    private readonly LinkedList<ReplicaHistoryEntry> _history = new();
    private readonly List<XElement> _heldDuringSplit = [];

    public Jid Room => room;
    public long LastSequence { get; private set; }
    /// <summary>The XEP-0359 id of the newest room message this replica received.</summary>
    public string? LastStanzaId { get; private set; }
    public IReadOnlyDictionary<Jid, string> LocalOccupants => _localOccupants;
    /// <summary>Nick → how the occupant was last announced.</summary>
    public IReadOnlyDictionary<string, RosterEntry> Roster => _roster;
    public IEnumerable<ReplicaHistoryEntry> History => _history;
    /// <summary>Local users' stanzas served here during a netsplit, oldest first, still to reach the primary.</summary>
    public IReadOnlyList<XElement> HeldDuringSplit => _heldDuringSplit;
    /// <summary>The number of the first of <see cref="HeldDuringSplit"/>; held stanzas are numbered from 1.</summary>
    public long FirstHeldNumber { get; private set; } = 1;

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

        var leaves = batch.Items.Select(item => item.Leave).OfType<Jid>().ToList();
        foreach (var leave in leaves)
        {
            _localOccupants.Remove(leave);
            _askedToBeIn.Remove(leave);
        }
        if (leaves.Count > 0) ForgetRosterIfNobodyLocal();
        return (deliveries, refused);
    }

    /// <summary>
    /// Serves a local user's stanza while the room is split from its primary (§4.11.1): a local occupant's leave
    /// or presence change is broadcast to the local occupants at once and held for the netjoin; anything else is
    /// answered with an error, so that nothing is silently lost.
    /// </summary>
    public IReadOnlyList<Delivery> ServeDuringSplit(XElement stanza)
    {
        if (!Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return [];
        var type = stanza.Attribute("type")?.Value;
        if (type is "error" or "result") return [];
        if (stanza.Name.LocalName == "presence" && _localOccupants.TryGetValue(from, out var nick) && IsToOwnOccupant(stanza, nick)
            && type is null or "unavailable")
        {
            _heldDuringSplit.Add(stanza);
            return type is null ? ChangePresenceLocally(from, nick, stanza) : LeaveLocally(from, nick);
        }
        return [ErrorTo(from, stanza, StanzaErrorCondition.RemoteServerTimeout, SplitErrorText)];
    }

    /// <summary>The held stanzas up to <paramref name="count"/> reached the primary in a netjoin.</summary>
    public void ForgetHeld(int count)
    {
        count = Math.Min(count, _heldDuringSplit.Count);
        _heldDuringSplit.RemoveRange(0, count);
        FirstHeldNumber += count;
    }

    /// <summary>An error answering a local user's stanza, from the address it was sent to.</summary>
    public static Delivery ErrorTo(Jid user, XElement stanza, StanzaErrorCondition condition, string text)
    {
        var error = StanzaError.Reply(stanza, condition, text, "wait");
        error.Attribute("to")?.Remove();
        return new Delivery(user, error);
    }

    private bool IsToOwnOccupant(XElement stanza, string nick) =>
        Jid.TryParse(stanza.Attribute("to")?.Value, out var to) && to.Bare == room && (to.Resource is null || to.Resource == nick);

    private IReadOnlyList<Delivery> LeaveLocally(Jid user, string nick)
    {
        var affiliation = _roster.GetValueOrDefault(nick)?.Affiliation ?? "none";
        _localOccupants.Remove(user);
        _askedToBeIn.Remove(user);
        _roster.Remove(nick);
        ForgetRosterIfNobodyLocal();
        var others = new XElement(Ns.Client + "presence", new XAttribute("from", room.WithResource(nick).ToString()),
            new XAttribute("type", "unavailable"), MucUserX(affiliation, "none", null));
        var own = new XElement(Ns.Client + "presence", new XAttribute("from", room.WithResource(nick).ToString()),
            new XAttribute("type", "unavailable"), MucUserX(affiliation, "none", user, Status(110)));
        return [new Delivery(user, own), .. _localOccupants.Keys.Select(other => new Delivery(other, others))];
    }

    /// <summary>
    /// Called when a local occupant left. The primary sends nothing to a host without occupants, so with the last one gone the roster
    /// would go stale; a netjoin that took it as what the users saw would skip occupants who came back unchanged.
    /// The next entry brings the whole roster again.
    /// </summary>
    private void ForgetRosterIfNobodyLocal()
    {
        if (_localOccupants.Count == 0) _roster.Clear();
    }

    private IReadOnlyList<Delivery> ChangePresenceLocally(Jid user, string nick, XElement presence)
    {
        var known = _roster.GetValueOrDefault(nick);
        var (affiliation, role) = (known?.Affiliation ?? "none", known?.Role ?? "participant");
        // The user's own presence payload (show, status, priority, caps…) as the room would repeat it.
        var payload = presence.Elements().Where(child => child.Name.Namespace != Ns.Muc && child.Name.Namespace != Ns.MucUser).ToList();
        XElement Announce(XElement x) => new(Ns.Client + "presence",
            new XAttribute("from", room.WithResource(nick).ToString()), payload.Select(child => new XElement(child)), x);
        var others = Announce(MucUserX(affiliation, role, null));
        if (RosterEntry.FromPresence(others, room) is { } entry) _roster[nick] = entry;
        var own = Announce(MucUserX(affiliation, role, user, Status(110)));
        return [.. _localOccupants.Keys.Where(other => other != user).Select(other => new Delivery(other, others)), new Delivery(user, own)];
    }

    private static XElement MucUserX(string affiliation, string role, Jid? jid, XElement? status = null) =>
        new(Ns.MucUser + "x",
            new XElement(Ns.MucUser + "item", new XAttribute("affiliation", affiliation), new XAttribute("role", role),
                jid is null ? null : new XAttribute("jid", jid.ToString())),
            status);

    private static XElement Status(int code) => new(Ns.MucUser + "status", new XAttribute("code", code));

    private void Remember(ReplicaItem item)
    {
        var stanza = item.Stanza;
        // Every view of an occupant's presence (broadcast, roster for one, self-presence) tells its current state;
        // an item delivered to nobody only carries an enter or leave.
        if (stanza.Name.LocalName == "presence" && item.Recipients is not { Count: 0 } && NickOf(stanza) is { } nick)
        {
            if (stanza.Attribute("type")?.Value == "unavailable") _roster.Remove(nick);
            else if (RosterEntry.FromPresence(stanza, room) is { } entry) _roster[nick] = entry;
        }
        // Only a message the room keeps marks where our history ends (a netjoin asks for what came after it): the
        // primary stamps a kept live message (Delay), and history sent at entry or in a resync is delayed already.
        // A no-store message is in no history, so a netjoin after it would repeat the whole history.
        if (stanza.Name.LocalName == "message" && (item.Delay is not null || stanza.Element(Ns.Delay + "delay") is not null)
            && StanzaIdOf(stanza) is { } stanzaId)
            LastStanzaId = stanzaId;
        if (item.Delay is { } stamp)
        {
            _history.AddLast(new ReplicaHistoryEntry(stanza, stamp));
            while (_history.Count > maxHistory) _history.RemoveFirst();
        }
    }

    private string? StanzaIdOf(XElement message) =>
        message.Elements(Ns.StanzaId + "stanza-id").FirstOrDefault(id => id.Attribute("by")?.Value == room.ToString())?.Attribute("id")?.Value;

    private string? NickOf(XElement stanza) =>
        Jid.TryParse(stanza.Attribute("from")?.Value, out var from) && from.Bare == room ? from.Resource : null;
}

public sealed record ReplicaHistoryEntry(XElement Message, DateTimeOffset AcceptedAt);
