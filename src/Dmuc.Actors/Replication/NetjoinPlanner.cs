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

    public static IReadOnlyList<ReplicaItem> Resync(RoomState room, string host, ResyncReplica report)
    {
        var roomJid = room.RoomJid;
        // The host's occupant sessions as the primary counts them: the replica must end up with exactly these.
        var sessions = room.Sessions.Where(session => session.RealJid.Domain == host)
            .ToDictionary(session => session.RealJid, session => session.Nick);
        var stayed = sessions.Keys.Where(report.LocalOccupants.ContainsKey).ToList();
        var missedEntry = sessions.Keys.Where(jid => !report.LocalOccupants.ContainsKey(jid)).ToList();
        var reportedRoster = report.Roster.ToDictionary(entry => entry.Nick);
        var deliveries = new List<Delivery>();

        // Occupants whose own entry was lost see themselves last, as XEP-0045 §7.2.3 orders an entry.
        var ownNicks = missedEntry.Select(jid => sessions[jid]).ToHashSet();
        foreach (var nick in room.OccupantNicks.OrderBy(nick => ownNicks.Contains(nick)))
        {
            var seenAsNow = stayed.Count > 0 && reportedRoster.TryGetValue(nick, out var reported) && reported == CurrentEntry(room, nick, stayed[0]);
            deliveries.AddRange(room.PresenceOf(nick, seenAsNow ? missedEntry : [.. stayed, .. missedEntry]));
        }

        var current = room.OccupantNicks.ToHashSet();
        foreach (var gone in reportedRoster.Keys.Where(nick => !current.Contains(nick)))
        {
            var unavailable = Unavailable(roomJid.WithResource(gone));
            deliveries.AddRange(stayed.Select(jid => new Delivery(jid, unavailable)));
        }

        foreach (var (jid, nick) in report.LocalOccupants.Where(local => !sessions.ContainsKey(local.Key)))
        {
            var own = Unavailable(roomJid.WithResource(nick), jid, 110, RemovedBySplit);
            deliveries.Add(new Delivery(jid, own));
        }

        var acceptedAt = new Dictionary<XElement, DateTimeOffset>(ReferenceEqualityComparer.Instance);
        foreach (var (message, accepted) in room.HistoryAfter(report.LastStanzaId))
        {
            acceptedAt[message] = accepted;
            deliveries.AddRange(sessions.Keys.Select(jid => new Delivery(jid, message)));
        }

        // The planner groups one stanza's recipients into one item and marks the entries and departures.
        var plan = ReplicationPlanner.Split(deliveries, candidate => candidate == host, roomJid, report.LocalOccupants, sessions,
            command: null, acceptedAt: null);
        return plan.ByHost.GetValueOrDefault(host, [])
            .Select(item => acceptedAt.TryGetValue(item.Stanza, out var stamp) ? item with { Delay = stamp } : item)
            .ToList();
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
