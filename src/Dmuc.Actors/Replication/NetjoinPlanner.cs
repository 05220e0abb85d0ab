using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The primary's half of a netjoin (docs/protocol/netjoin.md): from what a replica reports it has, the one
/// resync batch that brings its users to the room as it is now — the presence of every occupant they saw
/// differently or not at all, the departure of those no longer there, and the messages they missed, each once.
/// Pure: the room actor calls it after processing the stanzas the replica held during the split.
/// </summary>
public static class NetjoinPlanner
{
    /// <summary>XEP-0045 status 333: removed because of a problem with the room's connection — here, the netsplit.</summary>
    private const int RemovedBySplit = 333;

    /// <summary>What the removed split entrant is told when someone the room admitted first has its nick.</summary>
    public const string NickTakenText =
        "While this host was split from the room, someone else entered under this nick and the room admitted them first; " +
        "you were removed. Please enter again with another nick.";

    /// <summary>
    /// What the host's users are told when the split outlasted what the room keeps (MucServiceOptions.NetjoinBacklog):
    /// the oldest messages they missed are gone, and they should know rather than believe they saw everything.
    /// </summary>
    public const string MessagesDroppedText =
        "This host was split from the room for longer than the room keeps messages: the oldest messages of the split are missing here. " +
        "The messages that follow are the oldest the room still has.";

    /// <param name="held">What came of the held stanzas of the host (<see cref="HeldStanzaLedger"/>): the room's errors
    /// are passed on first, and the messages its users saw during the split are kept in its history but not delivered again.</param>
    /// <param name="receipt">The host's last receipt (<see cref="DeliveryReceipt"/>, <see cref="RelayDelivered"/>): what a new incarnation of its node, which
    /// reports having nothing, resumes its users from.</param>
    /// <param name="letGo">Sessions of the host the room let go while the host had no node (<see cref="PrimaryRoom.HostGone"/>):
    /// those the replica does not report and the room does not have again are told now that they were removed.</param>
    /// <param name="leftSinceReceipt">Nicks that left the room since the message of <paramref name="receipt"/> (<see cref="RecentDepartures"/>):
    /// a new incarnation of the node cannot report what its users saw, so they are told that these left.</param>
    public static IReadOnlyList<ReplicaItem> Resync(RoomState room, string host, ResyncReplica report, HeldOutcome? held = null,
        RelayReceipt? receipt = null, IReadOnlyDictionary<Jid, string>? letGo = null, IReadOnlySet<string>? leftSinceReceipt = null)
    {
        held ??= HeldOutcome.None;
        var roomJid = room.RoomJid;
        // The host's occupant sessions as the primary counts them: the replica must end up with exactly these.
        var sessions = room.Sessions.Where(session => session.RealJid.Domain == host)
            .ToDictionary(session => session.RealJid, session => session.Nick);
        var stayed = sessions.Keys.Where(report.LocalOccupants.ContainsKey).ToList();
        var missedEntry = sessions.Keys.Where(jid => !report.LocalOccupants.ContainsKey(jid)).ToList();
        var reportedRoster = report.Roster.ToDictionary(entry => entry.Nick);
        var current = room.OccupantNicks.ToHashSet();
        var deliveries = new List<Delivery>(held.Answers);

        // A local occupant the primary does not have: refused at the netjoin (a split entry), or the primary restarted; or one
        // the room let go while the host had no node, whom a new incarnation of the node cannot know.
        // When someone else now has the nick (an entry during the split lost to one the room admitted first), the
        // entrant is told why and the other local users see the entrant go before they see the nick's new holder.
        var removed = report.LocalOccupants.Where(local => !sessions.ContainsKey(local.Key))
            .Concat((letGo ?? new Dictionary<Jid, string>()).Where(gone => !sessions.ContainsKey(gone.Key) && !report.LocalOccupants.ContainsKey(gone.Key)))
            .ToList();
        var taken = removed.Select(local => local.Value).Where(current.Contains).ToHashSet();
        foreach (var (jid, nick) in removed)
        {
            if (taken.Contains(nick))
                deliveries.Add(new Delivery(jid, new XElement(Ns.Client + "message", new XAttribute("from", roomJid.ToString()),
                    new XAttribute("type", "groupchat"), new XElement(Ns.Client + "body", NickTakenText))));
            deliveries.Add(new Delivery(jid, Unavailable(roomJid.WithResource(nick), jid, 110, RemovedBySplit)));
        }
        foreach (var nick in taken)
        {
            var gone = Unavailable(roomJid.WithResource(nick), null, RemovedBySplit);
            deliveries.AddRange(stayed.Select(jid => new Delivery(jid, gone)));
        }

        // Occupants whose own entry was lost see themselves last, as XEP-0045 §7.2.3 orders an entry.
        // A replica that reports having nothing of the room is a new incarnation of its node when its host has occupants: they
        // are relearnt (their entries go to it again), but what they had been sent before its crash, by its last receipt, they
        // keep; only the rest of the room's history goes to them, and the whole of it, with the subject, only to new entrants.
        var newIncarnation = report is { LastSequence: 0, LastStanzaId: null, LocalOccupants.Count: 0 };
        var resumed = newIncarnation ? receipt : null;
        if (newIncarnation)
            foreach (var nick in (leftSinceReceipt ?? new HashSet<string>()).Where(nick => !current.Contains(nick)).Order(StringComparer.Ordinal))
            {
                var left = Unavailable(roomJid.WithResource(nick));
                deliveries.AddRange(missedEntry.Select(jid => new Delivery(jid, left)));
            }
        var hadTheRoom = resumed?.Sessions.Where(sessions.ContainsKey).ToHashSet() ?? [];
        var entrants = missedEntry.Where(jid => !hadTheRoom.Contains(jid)).ToList();
        var ownNicks = missedEntry.Select(jid => sessions[jid]).ToHashSet();
        foreach (var nick in room.OccupantNicks.OrderBy(nick => ownNicks.Contains(nick)))
        {
            var seenAsNow = stayed.Count > 0 && !taken.Contains(nick) && reportedRoster.TryGetValue(nick, out var reported)
                            && reported == CurrentEntry(room, nick, stayed[0]);
            deliveries.AddRange(room.PresenceOf(nick, seenAsNow ? missedEntry : [.. stayed, .. missedEntry]));
        }

        foreach (var gone in reportedRoster.Keys.Where(nick => !current.Contains(nick)))
        {
            var unavailable = Unavailable(roomJid.WithResource(gone));
            deliveries.AddRange(stayed.Select(jid => new Delivery(jid, unavailable)));
        }

        var (history, complete) = room.HistoryAfter(resumed is null ? report.LastStanzaId : resumed.LastStanzaId);
        if (!complete)
        {
            var notice = new XElement(Ns.Client + "message", new XAttribute("from", roomJid.ToString()), new XAttribute("type", "groupchat"),
                new XElement(Ns.Client + "body", MessagesDroppedText));
            deliveries.AddRange(sessions.Keys.Select(jid => new Delivery(jid, notice)));
        }
        var acceptedAt = new Dictionary<XElement, DateTimeOffset>(ReferenceEqualityComparer.Instance);
        var seenLocally = new HashSet<XElement>(ReferenceEqualityComparer.Instance);
        foreach (var (message, accepted) in history)
        {
            acceptedAt[message] = accepted;
            if (held.SeenLocally.Contains(ReplicaRoomState.StanzaIdOf(message, roomJid) ?? "")) seenLocally.Add(message);
            else deliveries.AddRange(sessions.Keys.Select(jid => new Delivery(jid, message)));
        }
        // The rest of a missed entry, as the room gives it: the history from before what the replica already had, then the subject.
        var resent = history.Select(kept => ReplicaRoomState.StanzaIdOf(kept.Message, roomJid)).ToHashSet();
        var earlierHistory = entrants.Count == 0 ? [] : room.History.Where(entry => !resent.Contains(entry.StanzaId))
            .Select(entry => new ReplicaItem(room.Replayed(entry), entrants)).ToList();
        IReadOnlyList<ReplicaItem> subject = entrants.Count == 0 ? [] : [new ReplicaItem(room.SubjectForEntrant(), entrants)];
        // A new incarnation resumed from its receipt learns where it stands from the receipt's own message, kept and delivered to
        // nobody: without it, it reported no last message at its next netjoin and its users got the whole history again.
        IReadOnlyList<ReplicaItem> resumedAt = resumed?.LastStanzaId is { } last && room.History.LastOrDefault(entry => entry.StanzaId == last) is { } atReceipt
            ? [new ReplicaItem(room.Replayed(atReceipt), [], Delay: atReceipt.Timestamp)]
            : [];

        // The planner groups one stanza's recipients into one item and marks the entries and departures.
        var plan = ReplicationPlanner.Split(deliveries, candidate => candidate == host, roomJid, report.LocalOccupants, sessions,
            command: null, acceptedAt: null);
        var items = plan.ByHost.GetValueOrDefault(host, []);
        var historyItems = items.Where(item => acceptedAt.ContainsKey(item.Stanza)).ToLookup(item => item.Stanza, ReferenceEqualityComparer.Instance);
        // The history in the room's order; what the host's users saw during the split is only kept, the room's copy
        // (with its stanza-id) replacing the replica's provisional one.
        return [
            .. items.Where(item => !acceptedAt.ContainsKey(item.Stanza)),
            .. earlierHistory,
            .. resumedAt,
            .. history.SelectMany(kept => seenLocally.Contains(kept.Message)
                ? [new ReplicaItem(kept.Message, [], Delay: kept.AcceptedAt)]
                : historyItems[kept.Message].Select(item => item with { Delay = kept.AcceptedAt })),
            .. subject,
        ];
    }

    private static RosterEntry? CurrentEntry(RoomState room, string nick, Jid viewer) =>
        room.PresenceOf(nick, [viewer]).Select(delivery => RosterEntry.FromPresence(delivery.Stanza, room.RoomJid)).FirstOrDefault();

    private static XElement Unavailable(Jid from, Jid? jid = null, params int[] statusCodes) =>
        new(Ns.Client + "presence", new XAttribute("from", from.ToString()), new XAttribute("type", "unavailable"),
            new XElement(Ns.MucUser + "x",
                new XElement(Ns.MucUser + "item", new XAttribute("affiliation", "none"), new XAttribute("role", "none"),
                    jid is null ? null : new XAttribute("jid", jid.ToString())),
                statusCodes.Select(code => new XElement(Ns.MucUser + "status", new XAttribute("code", code)))));
}
