using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// What a replica keeps of one room (XEP-0282 §4.1): the room roster, its local occupants, the history,
/// and which local users really asked to be in the room; during a netsplit (§4.11.1), what its users did
/// alone, for the netjoin. Pure: the replica room actor persists nothing and only sends what this returns.
/// </summary>
/// <param name="serving">What it serves its users itself during a split; <see cref="SplitServing.Default"/> if null.</param>
public sealed class ReplicaRoomState(Jid room, string ownHost, int maxHistory = 100, SplitServing? serving = null)
{
    /// <summary>What a replica user hears when the room cannot take their stanza during a netsplit.</summary>
    public const string SplitErrorText = "the room is split from its primary; try again shortly";

    private readonly SplitServing _serving = serving ?? SplitServing.Default;

    private readonly HashSet<Jid> _askedToBeIn = [];
    private readonly Dictionary<Jid, string> _localOccupants = new();
    private readonly SortedDictionary<string, RosterEntry> _roster = new(StringComparer.Ordinal);
    private readonly LinkedList<ReplicaHistoryEntry> _history = new();
    private readonly List<HeldStanza> _heldDuringSplit = [];
    // Occupants of other hosts the local users were shown away (MarkOthersAway), until the netjoin shows them as they are.
    private readonly HashSet<string> _shownAway = new(StringComparer.Ordinal);
    // Own host's users a netjoin resync brought that this replica did not know (its node restarted and kept nothing):
    // taken provisionally, pinged from the room, and given what the room sends them only once the ping proves them there.
    private readonly Dictionary<Jid, Unconfirmed> _unconfirmed = new();
    private long _checks;
    // Until its first netjoin's resync is complete (or it applies an ordinary batch), this replica is a new incarnation that
    // knows nobody: only then is an unknown own host's user in a resync one it forgot. Later, an unknown one is one it let
    // go itself (a kick or leave served during a split that the room did not take), who must stay out.
    private bool _freshIncarnation = true;

    private sealed record Unconfirmed(string CheckId, List<XElement> Held);

    public Jid Room => room;
    public long LastSequence { get; private set; }
    /// <summary>The XEP-0359 id of the newest message of the room's history this replica received.</summary>
    public string? LastStanzaId { get; private set; }
    public IReadOnlyDictionary<Jid, string> LocalOccupants => _localOccupants;
    /// <summary>Nick → how the occupant was last announced.</summary>
    public IReadOnlyDictionary<string, RosterEntry> Roster => _roster;
    public IEnumerable<ReplicaHistoryEntry> History => _history;
    /// <summary>Local users' stanzas served here during a netsplit, oldest first, still to reach the primary.</summary>
    public IReadOnlyList<HeldStanza> HeldDuringSplit => _heldDuringSplit;
    /// <summary>The number of the first of <see cref="HeldDuringSplit"/>; held stanzas are numbered from 1.</summary>
    public long FirstHeldNumber { get; private set; } = 1;
    /// <summary>The ids of the session checks still waiting for an answer (<see cref="CheckUnanswered"/> ends one).</summary>
    public IReadOnlyCollection<string> PendingChecks => _unconfirmed.Values.Select(pending => pending.CheckId).ToHashSet();

    /// <summary>
    /// What this replica's receipt says now (<see cref="DeliveryReceipt"/>): every local occupant but those whose session is
    /// still being checked (what the room sends them waits here) was sent everything up to <see cref="LastStanzaId"/>.
    /// </summary>
    public DeliveryReceipt Receipt() => new(room, ownHost, LastStanzaId,
        _localOccupants.Keys.Where(occupant => !_unconfirmed.ContainsKey(occupant)).OrderBy(occupant => occupant.ToString(), StringComparer.Ordinal).ToList());

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
    /// local occupant), then departures. Entries nobody asked for are refused and get nothing, except in a netjoin's
    /// resync: there an own host's user this replica does not know is one it forgot (its node restarted, the user stayed
    /// connected), so the entry is taken provisionally and checked with the room's ping (<see cref="RoomState.ProbeSession"/>);
    /// what the room sends them waits for the answer (<see cref="TakeCheckAnswer"/>, <see cref="CheckUnanswered"/>).
    /// </summary>
    /// <remarks>A netjoin's resync brings the primary's copy of every message the replica kept provisionally.</remarks>
    public (IReadOnlyList<Delivery> Deliveries, IReadOnlyList<Jid> Refused) ApplyBatch(ReplicaBatch batch)
    {
        LastSequence = batch.Sequence;
        if (batch.ResyncOf is not null)
        {
            RemoveProvisionalHistory();
            _shownAway.Clear();
        }
        var refused = new List<Jid>();
        var deliveries = new List<Delivery>();
        string? check = null;
        foreach (var enter in batch.Items.Select(item => (item.Enter, item.Stanza)).Where(e => e.Enter is not null))
        {
            var occupant = enter.Enter!.Occupant;
            if (occupant.Domain != ownHost || (!_askedToBeIn.Contains(occupant) && !(batch.ResyncOf is not null && _freshIncarnation)))
            {
                refused.Add(occupant);
                continue;
            }
            if (!_askedToBeIn.Contains(occupant) && !_unconfirmed.ContainsKey(occupant))
            {
                check ??= $"dmuc-relearn-{++_checks}";
                _unconfirmed[occupant] = new Unconfirmed(check, []);
                deliveries.Add(RoomState.ProbeSession(room, occupant, check));
            }
            _localOccupants[occupant] = NickOf(enter.Stanza) ?? occupant.ToString();
        }

        if (batch.ResyncOf is null || !batch.More) _freshIncarnation = false;

        foreach (var item in batch.Items)
        {
            Remember(item);
            var recipients = item.Recipients ?? _localOccupants.Keys.Where(jid => item.Except?.Contains(jid) != true).ToList();
            foreach (var recipient in recipients)
            {
                // A replica speaks only to its own host's users, and never to one whose entry it refused.
                if (recipient.Domain != ownHost || refused.Contains(recipient)) continue;
                if (_unconfirmed.TryGetValue(recipient, out var pending)) pending.Held.Add(item.Stanza);
                else deliveries.Add(new Delivery(recipient, item.Stanza));
            }
        }

        var leaves = batch.Items.Select(item => item.Leave).OfType<Jid>().ToList();
        foreach (var leave in leaves)
        {
            _localOccupants.Remove(leave);
            _askedToBeIn.Remove(leave);
            _unconfirmed.Remove(leave);
        }
        if (leaves.Count > 0) ForgetRosterIfNobodyLocal();
        return (deliveries, refused);
    }

    /// <summary>
    /// A local user's stanza that answers a session check (<see cref="ApplyBatch"/>): a result, or an error by which the
    /// room would not take the session as gone, keeps the user, who now gets what the room sent them meanwhile; an error
    /// the room takes as the session being gone removes them here, and is returned to go on to the room, which removes them
    /// by its own rule and tells the others why (333), as after its own check. Null for any other stanza, which goes its usual way.
    /// </summary>
    public (IReadOnlyList<Delivery> Deliveries, XElement? ToRoom)? TakeCheckAnswer(XElement stanza)
    {
        if (stanza.Name.LocalName != "iq" || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from)
            || !Jid.TryParse(stanza.Attribute("to")?.Value, out var to) || to != room
            || !_unconfirmed.TryGetValue(from, out var pending) || stanza.Attribute("id")?.Value != pending.CheckId)
            return null;
        switch (stanza.Attribute("type")?.Value)
        {
            case "result":
            case "error" when !RoomState.SessionGone(stanza):
                _unconfirmed.Remove(from);
                // Proven there: from now on the user is as one who entered through this replica.
                _askedToBeIn.Add(from);
                return (pending.Held.Select(held => new Delivery(from, held)).ToList(), null);
            case "error":
                Forget(from);
                return ([], stanza);
            default:
                return null;
        }
    }

    /// <summary>
    /// The check's time is up: whoever it still waits for is taken as gone. Returned for each, to go on to the room, is the
    /// error their server would have answered with had it known (remote-server-timeout), so that the room removes them by
    /// the same rule (333) as when it did.
    /// </summary>
    public IReadOnlyList<XElement> CheckUnanswered(string checkId) =>
        _unconfirmed.Where(pending => pending.Value.CheckId == checkId).ToList().Select(pending =>
        {
            Forget(pending.Key);
            // The ping as it went out, addressed to the session, so that the error answers it from the session to the room.
            var ping = RoomState.ProbeSession(room, pending.Key, checkId).Stanza;
            ping.SetAttributeValue("to", pending.Key.ToString());
            return StanzaError.Reply(ping, StanzaErrorCondition.RemoteServerTimeout, "the session did not answer the room's ping", "wait");
        }).ToList();

    private void Forget(Jid unconfirmed)
    {
        _unconfirmed.Remove(unconfirmed);
        _localOccupants.Remove(unconfirmed);
        ForgetRosterIfNobodyLocal();
    }

    /// <summary>
    /// Serves a local user's stanza while the room is split from its primary (§4.11.1): what the XEP requires (a
    /// local occupant's leave or presence change) and the MAYs <see cref="SplitServing"/> turns on are served to the
    /// local occupants at once, and what the room must hear of is held for the netjoin; anything else is answered
    /// with an error, so that nothing is silently lost.
    /// </summary>
    public IReadOnlyList<Delivery> ServeDuringSplit(XElement stanza, DateTimeOffset now)
    {
        if (!Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return [];
        var type = stanza.Attribute("type")?.Value;
        Jid.TryParse(stanza.Attribute("to")?.Value, out var to);
        if (type == "result" || (type == "error" && !(stanza.Name.LocalName == "iq" && to?.Bare == room && to.Resource is null))) return [];
        var toRoom = to?.Bare == room;
        var nick = _localOccupants.GetValueOrDefault(from);
        var served = (stanza.Name.LocalName, nick) switch
        {
            // The server answering the room's probe for a session it lost (ReplicaRoom.ProbeLocalOccupants): the room
            // removes it at the netjoin (333); the local occupants see it leave now.
            ("iq", { } gone) when toRoom && to!.Resource is null && type == "error" => Held(stanza, now, LeaveLocally(from, gone)),
            ("presence", { } own) when toRoom && (to!.Resource is null || to.Resource == own) && type is null or "unavailable" =>
                Held(stanza, now, type is null ? ChangePresenceLocally(from, own, stanza) : LeaveLocally(from, own)),
            ("presence", null) when _serving.Entries && toRoom && to!.Resource is { } wanted && type is null && from.Domain == ownHost =>
                EnterLocally(from, wanted, stanza, now),
            ("message", { } sender) when _serving.LocalChat && toRoom && to!.Resource is null && type == "groupchat"
                                         && stanza.Element(Ns.Client + "subject") is null =>
                SayLocally(from, sender, stanza, now),
            ("message", { } sender) when _serving.PrivateMessages && toRoom && to!.Resource is { } recipient && type is null or "chat" or "normal" =>
                WhisperLocally(sender, recipient, stanza),
            ("iq", { } moderator) when _serving.Kicks && toRoom && to!.Resource is null && type == "set" && KickRequested(stanza) is { } kick =>
                KickLocally(from, moderator, kick.Nick, kick.Reason, stanza, now),
            _ => null,
        };
        // Errors are never answered with errors (RFC 6120 §8.3).
        return served ?? (type == "error" ? [] : [ErrorTo(from, stanza, StanzaErrorCondition.RemoteServerTimeout, SplitErrorText)]);
    }

    /// <summary>
    /// The link to the primary was found split: with <see cref="SplitServing.MarkOthersAway"/>, the local users see
    /// every occupant of the other hosts go away (the netjoin brings their presence as it is then).
    /// </summary>
    public IReadOnlyList<Delivery> MarkSplit()
    {
        if (!_serving.MarkOthersAway) return [];
        var localNicks = _localOccupants.Values.ToHashSet();
        var deliveries = new List<Delivery>();
        foreach (var entry in _roster.Values.Where(entry => !localNicks.Contains(entry.Nick) && _shownAway.Add(entry.Nick)).ToList())
        {
            var away = SplitHostAway.AsAway(entry.ToPresence(room));
            _roster[entry.Nick] = RosterEntry.FromPresence(away, room)!;
            deliveries.AddRange(_localOccupants.Keys.Select(local => new Delivery(local, away)));
        }
        return deliveries;
    }

    private IReadOnlyList<Delivery> Held(XElement stanza, DateTimeOffset now, IReadOnlyList<Delivery> deliveries)
    {
        _heldDuringSplit.Add(new HeldStanza(stanza, now));
        return deliveries;
    }

    /// <summary>
    /// A groupchat message among the local occupants, rendered as the room would (<see cref="Messages.GroupchatFrom"/>, without
    /// any stanza-id: only the primary gives the XEP-0359 id the room's history knows it by). One the room would keep
    /// (<see cref="Dmuc.Rooms.History.IsHistoric"/>) is kept in the history until the netjoin brings the primary's copy; one with a body
    /// or kept is held for the room; anything else (a chat state) is only relayed.
    /// </summary>
    private IReadOnlyList<Delivery>? SayLocally(Jid from, string nick, XElement stanza, DateTimeOffset now)
    {
        if (_roster.GetValueOrDefault(nick)?.Role is { } role && !Messages.MaySpeak(role))
            return [ErrorTo(from, stanza, StanzaErrorCondition.Forbidden, Messages.NoVoiceText, "auth")];
        var message = Messages.GroupchatFrom(stanza, room, nick);
        var deliveries = _localOccupants.Keys.Select(local => new Delivery(local, message)).ToList();
        var historic = Dmuc.Rooms.History.IsHistoric(message);
        if (historic) AddToHistory(new ReplicaHistoryEntry(message, now, Provisional: true));
        // A message asking not to be stored (XEP-0334) is not kept, but the rest of the room must still hear it.
        return historic || message.Element(Ns.Client + "body") is not null ? Held(stanza, now, deliveries) : deliveries;
    }

    /// <summary>An in-room private message to a local occupant: relayed as the room would, not held (the room keeps none).</summary>
    private IReadOnlyList<Delivery>? WhisperLocally(string senderNick, string recipientNick, XElement stanza)
    {
        var recipients = _localOccupants.Where(local => local.Value == recipientNick).Select(local => local.Key).ToList();
        if (recipients.Count == 0) return null;
        var message = Messages.PrivateMessageFrom(stanza, room, senderNick);
        return recipients.Select(recipient => new Delivery(recipient, message)).ToList();
    }

    /// <summary>The nick and reason of a muc#admin kick (one item, role none), or null for any other request.</summary>
    private static (string Nick, string? Reason)? KickRequested(XElement iq)
    {
        var items = iq.Element(Ns.MucAdmin + "query")?.Elements(Ns.MucAdmin + "item").ToList();
        if (items is not [{ } item] || item.Attribute("role")?.Value != "none" || item.Attribute("nick")?.Value is not { } nick) return null;
        return (nick, item.Element(Ns.MucAdmin + "reason")?.Value);
    }

    /// <summary>
    /// A kick (XEP-0045 §8.2) of a local occupant, by the room's own rule (<see cref="Moderation.MayChangeRole"/>) on the
    /// roles and affiliations the primary last announced; a kick of an occupant elsewhere waits for the room.
    /// </summary>
    private IReadOnlyList<Delivery>? KickLocally(Jid from, string moderatorNick, string nick, string? reason, XElement iq, DateTimeOffset now)
    {
        var sessions = _localOccupants.Where(local => local.Value == nick).Select(local => local.Key).ToList();
        var moderator = _roster.GetValueOrDefault(moderatorNick);
        if (sessions.Count == 0 && moderator?.Role == Role.Moderator) return null;
        var target = _roster.GetValueOrDefault(nick);
        var affiliation = target?.Affiliation ?? Affiliation.None;
        if (Moderation.MayChangeRole(moderator?.Role ?? Role.None, moderator?.Affiliation ?? Affiliation.None, target?.Role ?? Role.None,
                affiliation, Role.None) is { } refusal)
            return [ErrorTo(from, iq, refusal.Condition, refusal.Text, refusal.Type)];
        if (sessions.Count == 0) return null;

        foreach (var session in sessions)
        {
            _localOccupants.Remove(session);
            _askedToBeIn.Remove(session);
        }
        _roster.Remove(nick);
        // As the room announces a kick (status 307 before the item; the kicked sessions' own with their JID and 110).
        XElement Kicked(Jid? jid) => Stanzas.Presence(room.WithResource(nick).ToString(), "unavailable").WithChild(Stanzas.MucUserX(
            Stanzas.Status(307), Stanzas.Item(affiliation, Role.None, jid?.ToString(), actorNick: moderatorNick, reason: reason),
            jid is null ? null : Stanzas.Status(110)));
        var seen = Kicked(null);
        var result = new XElement(Ns.Client + "iq", new XAttribute("from", room.ToString()), new XAttribute("type", "result"),
            iq.Attribute("id") is { } id ? new XAttribute("id", id.Value) : null);
        return Held(iq, now, [
            .. sessions.Select(session => new Delivery(session, Kicked(session))),
            .. _localOccupants.Keys.Select(other => new Delivery(other, seen)),
            new Delivery(from, result)]);
    }

    /// <summary>
    /// An entry under a nick the replica's roster does not have (the XEP's DANGER): the entrant gets the roster as
    /// the replica knows it, its own presence (as a participant: the primary settles the role at the netjoin) and
    /// the replica's history; the entry is held. A replica without local occupants knows no roster and refuses.
    /// </summary>
    private IReadOnlyList<Delivery>? EnterLocally(Jid from, string nick, XElement presence, DateTimeOffset now)
    {
        if (_localOccupants.Count == 0) return null;
        if (_roster.ContainsKey(nick))
            return [ErrorTo(from, presence, StanzaErrorCondition.Conflict, "That nickname is already in use by another occupant", "cancel")];
        var deliveries = _roster.Values.Select(entry => new Delivery(from, entry.ToPresence(room))).ToList();
        _localOccupants[from] = nick;
        _askedToBeIn.Add(from);
        deliveries.AddRange(ChangePresenceLocally(from, nick, presence));
        // The entrant's <history/> limits, as the room reads them (History.Requested), on what this replica keeps.
        var kept = Dmuc.Rooms.History.Requested(_history.ToList(), entry => StanzaText.Of(entry.Message).Length,
            entry => entry.AcceptedAt, presence.Element(Ns.Muc + "x")?.Element(Ns.Muc + "history"), maxHistory, null, now);
        deliveries.AddRange(kept.Select(entry => new Delivery(from, Delayed(entry))));
        return Held(presence, now, deliveries);
    }

    /// <summary>A kept message as replayed to an entrant: delayed by the room (XEP-0203) unless it says so already.</summary>
    private XElement Delayed(ReplicaHistoryEntry entry)
    {
        if (entry.Message.Elements(Ns.Delay + "delay").Any(delay => delay.Attribute("from")?.Value == room.ToString())) return entry.Message;
        return new XElement(entry.Message).WithChild(Stanzas.Delay(room, entry.AcceptedAt));
    }

    /// <summary>The held stanzas up to <paramref name="count"/> reached the primary in a netjoin.</summary>
    public void ForgetHeld(int count)
    {
        count = Math.Min(count, _heldDuringSplit.Count);
        _heldDuringSplit.RemoveRange(0, count);
        FirstHeldNumber += count;
    }

    /// <summary>An error answering a local user's stanza, from the address it was sent to.</summary>
    public static Delivery ErrorTo(Jid user, XElement stanza, StanzaErrorCondition condition, string? text, string type = "wait")
    {
        var error = StanzaError.Reply(stanza, condition, text, type);
        error.Attribute("to")?.Remove();
        return new Delivery(user, error);
    }

    private IReadOnlyList<Delivery> LeaveLocally(Jid user, string nick)
    {
        var affiliation = _roster.GetValueOrDefault(nick)?.Affiliation ?? Affiliation.None;
        _localOccupants.Remove(user);
        _askedToBeIn.Remove(user);
        _unconfirmed.Remove(user);
        _roster.Remove(nick);
        ForgetRosterIfNobodyLocal();
        var occupantJid = room.WithResource(nick).ToString();
        var others = Stanzas.Presence(occupantJid, "unavailable").WithChild(Stanzas.MucUserX(Stanzas.Item(affiliation, Role.None)));
        var own = Stanzas.Presence(occupantJid, "unavailable")
            .WithChild(Stanzas.MucUserX(Stanzas.Item(affiliation, Role.None, user.ToString()), Stanzas.Status(110)));
        return [new Delivery(user, own), .. _localOccupants.Keys.Select(other => new Delivery(other, others))];
    }

    /// <summary>
    /// Called when a local occupant left. The primary sends nothing to a host without occupants, so with the last one gone the roster
    /// would go stale; a netjoin that took it as what the users saw would skip occupants who came back unchanged.
    /// The next entry brings the whole roster again. The history would get a gap, so it starts again too.
    /// </summary>
    private void ForgetRosterIfNobodyLocal()
    {
        if (_localOccupants.Count > 0) return;
        _roster.Clear();
        _history.Clear();
        _shownAway.Clear();
    }

    /// <summary>Kept only while someone local is in the room: without, the history would get a gap (see above).</summary>
    private void AddToHistory(ReplicaHistoryEntry entry)
    {
        if (_localOccupants.Count == 0) return;
        _history.AddLast(entry);
        while (_history.Count > maxHistory) _history.RemoveFirst();
    }

    private void RemoveProvisionalHistory()
    {
        for (var node = _history.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Provisional) _history.Remove(node);
            node = next;
        }
    }

    private IReadOnlyList<Delivery> ChangePresenceLocally(Jid user, string nick, XElement presence)
    {
        var known = _roster.GetValueOrDefault(nick);
        var (affiliation, role) = (known?.Affiliation ?? Affiliation.None, known?.Role ?? Role.Participant);
        // The user's own presence payload (show, status, priority, caps…) as the room would repeat it.
        XElement Announce(XElement x) => Stanzas.WithFrom(Stanzas.WithoutMucPayload(presence), room.WithResource(nick).ToString()).WithChild(x);
        var others = Announce(Stanzas.MucUserX(Stanzas.Item(affiliation, role)));
        if (RosterEntry.FromPresence(others, room) is { } entry) _roster[nick] = entry;
        var own = Announce(Stanzas.MucUserX(Stanzas.Item(affiliation, role, user.ToString()), Stanzas.Status(110)));
        return [.. _localOccupants.Keys.Where(other => other != user).Select(other => new Delivery(other, others)), new Delivery(user, own)];
    }

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
        // Only a message of the room's history (kept live, or replayed by the room to an entrant) can be found there
        // again by a netjoin; a chat state or a no-store message has a stanza-id too, and taking it would make the
        // netjoin resend the whole history.
        var ofTheHistory = item.Delay is not null || stanza.Elements(Ns.Delay + "delay").Any(delay => delay.Attribute("from")?.Value == room.ToString());
        if (stanza.Name.LocalName == "message" && ofTheHistory && StanzaIdOf(stanza) is { } stanzaId) LastStanzaId = stanzaId;
        if (item.Delay is { } stamp) AddToHistory(new ReplicaHistoryEntry(stanza, stamp));
    }

    private string? StanzaIdOf(XElement message) => StanzaIdOf(message, room);

    /// <summary>The XEP-0359 id <paramref name="room"/> gave the message, if it carries one.</summary>
    public static string? StanzaIdOf(XElement message, Jid room) =>
        message.Elements(Ns.StanzaId + "stanza-id").FirstOrDefault(id => id.Attribute("by")?.Value == room.ToString())?.Attribute("id")?.Value;

    private string? NickOf(XElement stanza) =>
        Jid.TryParse(stanza.Attribute("from")?.Value, out var from) && from.Bare == room ? from.Resource : null;
}

/// <param name="Provisional">Said during a split and kept here only until the netjoin brings the primary's copy.</param>
public sealed record ReplicaHistoryEntry(XElement Message, DateTimeOffset AcceptedAt, bool Provisional = false);
