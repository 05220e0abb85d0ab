using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The primary's optional view of a netsplit (XEP-0282 §4.11.1 MAY, <c>show-split-users-away</c>): when a room's
/// link to a host splits, everyone else in the room sees that host's occupants as away; when the host rejoins,
/// the same recipients see their real presence again. Transient: the room's state never changes, only what is
/// sent. Pure: the room actor calls it and sends what it returns.
/// </summary>
public sealed class SplitHostAway
{
    /// <summary>The status an occupant without a status text of its own shows while split from the viewer, saying why.</summary>
    public const string SplitStatus = "netsplit";

    private readonly Dictionary<string, Marked> _marked = new(StringComparer.Ordinal);

    /// <summary>The hosts whose occupants are shown away now.</summary>
    public IReadOnlyCollection<string> SplitHosts => _marked.Keys;

    /// <summary>
    /// The link to <paramref name="host"/> split: each of the host's occupants as every occupant elsewhere sees it
    /// (real JIDs as the room allows), with <c>&lt;show&gt;away&lt;/show&gt;</c>. Nothing when the host is shown
    /// away already (a netjoin that failed splits the link again) or has nobody in the room.
    /// </summary>
    public IReadOnlyList<Delivery> HostSplit(RoomState room, string host)
    {
        if (_marked.ContainsKey(host)) return [];
        var (nicks, recipients) = OccupantsAndAudience(room, host);
        if (nicks.Count == 0 || recipients.Count == 0) return [];
        _marked[host] = new Marked(nicks, recipients);
        var away = new Dictionary<XElement, XElement>(ReferenceEqualityComparer.Instance);
        // Copies are made once per rendered stanza, so a broadcast stays one stanza (one batch item per host).
        return nicks.SelectMany(nick => room.PresenceOf(nick, recipients))
            .Select(delivery => delivery with { Stanza = away.TryGetValue(delivery.Stanza, out var copy) ? copy : away[delivery.Stanza] = AsAway(delivery.Stanza) })
            .ToList();
    }

    /// <summary>
    /// <paramref name="host"/> rejoined and the stanzas its users sent during the split were processed: the
    /// current presence of those of its occupants still in the room, to those who saw them away and are still
    /// there. Occupants who left during the split already got their unavailable presence out to everyone.
    /// </summary>
    public IReadOnlyList<Delivery> HostRejoined(RoomState room, string host)
    {
        if (!_marked.Remove(host, out var marked)) return [];
        var inRoom = room.Sessions.Select(session => session.RealJid).ToHashSet();
        var current = room.OccupantNicks.ToHashSet(StringComparer.Ordinal);
        var recipients = marked.Recipients.Where(inRoom.Contains).ToList();
        return marked.Nicks.Where(current.Contains).SelectMany(nick => room.PresenceOf(nick, recipients)).ToList();
    }

    /// <summary>
    /// The occupants only the split host serves (one with a session elsewhere too is still reachable) and the
    /// sessions everywhere else.
    /// </summary>
    private static (IReadOnlyList<string> Nicks, IReadOnlyList<Jid> Recipients) OccupantsAndAudience(RoomState room, string host)
    {
        var sessions = room.Sessions.ToList();
        var nicks = sessions.GroupBy(session => session.Nick)
            .Where(occupant => occupant.All(session => session.RealJid.Domain == host))
            .Select(occupant => occupant.Key)
            .ToList();
        var recipients = sessions.Where(session => session.RealJid.Domain != host).Select(session => session.RealJid).ToList();
        return (nicks, recipients);
    }

    /// <summary>
    /// An occupant presence shown away because of a split: the primary's view of a split host's occupants, and a split
    /// replica's of everyone elsewhere. The occupant's own status text, if any, stays.
    /// </summary>
    public static XElement AsAway(XElement presence)
    {
        var away = new XElement(presence);
        away.Elements(Ns.Client + "show").Remove();
        away.AddFirst(new XElement(Ns.Client + "show", "away"));
        if (away.Element(Ns.Client + "status") is null)
            away.Element(Ns.Client + "show")!.AddAfterSelf(new XElement(Ns.Client + "status", SplitStatus));
        return away;
    }

    private sealed record Marked(IReadOnlyList<string> Nicks, IReadOnlyList<Jid> Recipients);
}
