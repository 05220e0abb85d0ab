using System.Xml.Linq;
using System.Text;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

// The messages primary and replica exchange over the cluster (XEP-0282 §4). Each has exactly one XML form,
// given by DmucCodec, which is also how they travel between nodes (DmucProtocolSerializer).

/// <summary>
/// What one room command produced for the local occupants of one replica host: ONE message per host per
/// command, however many occupants it reaches there. Items are delivered in order.
/// </summary>
/// <param name="ResyncOf">Set on the one batch that answers a replica's <see cref="ResyncReplica"/> (the netjoin id):
/// it brings the replica from what it reported to the room as it is now.</param>
/// <param name="Ack">The replica's forwards the room has processed, when this batch carries the outcome of the last of
/// them (docs/protocol/netjoin.md §2, acknowledged forwards).</param>
/// <param name="More">On a resync: the resync goes on in the batch numbered next. A resync larger than one remoting frame
/// travels in parts (docs/protocol/netjoin.md §3); the netjoin ends with the part without it.</param>
/// <param name="UsersBeforeLink">The room has users of this host that it did not learn through this link (it recovered them
/// from its journal), and the link has sent no resync yet: a replica that knows nobody netjoins first (docs/protocol/netjoin.md §5).</param>
public sealed record ReplicaBatch(Jid Room, string ReplicaHost, long Sequence, IReadOnlyList<ReplicaItem> Items, string? ResyncOf = null,
    ForwardAck? Ack = null, bool More = false, bool UsersBeforeLink = false);

/// <summary>
/// One stanza of a batch, exactly as the room would send it to a local occupant but without <c>to</c>.
/// </summary>
/// <param name="Recipients">The local occupants (full JIDs) who get it; null means every local occupant of the
/// replica but <paramref name="Except"/> — the common case of a broadcast, which then travels without a list,
/// as in the XEP.</param>
/// <param name="Enter">The occupant who entered with this stanza (XEP-0282 Listing 2).</param>
/// <param name="Leave">The occupant who left with this stanza (Listing 3).</param>
/// <param name="Delay">When the primary accepted a groupchat message, for the replica's history (Listing 6).</param>
/// <param name="Repeats">Instead of <paramref name="Stanza"/>: the presences the replica keeps of these occupants (<see cref="KeptPresences"/>),
/// by nick, in this order, to <paramref name="Recipients"/> (an entrant's roster, docs/protocol/dmuc.md, "Presences sent again").</param>
public sealed record ReplicaItem(
    XElement Stanza,
    IReadOnlyList<Jid>? Recipients,
    ReplicaEnter? Enter = null,
    Jid? Leave = null,
    DateTimeOffset? Delay = null,
    IReadOnlyList<Jid>? Except = null,
    IReadOnlyList<string>? Repeats = null);

/// <param name="History">The &lt;history/&gt; request of the entering user's join presence, if any.</param>
public sealed record ReplicaEnter(Jid Occupant, XElement? History);

/// <summary>A local user's stanza relayed by a replica to the primary with its original <c>from</c> (Listing 5).</summary>
/// <param name="Number">How the replica numbered it, for a stanza to a room: the room acknowledges it and never
/// processes it twice (docs/protocol/netjoin.md §2). Null for stanzas to the service itself.</param>
/// <param name="Resent">The replica's server handed it again after the replica's node lost its stream (docs/protocol/stream-ack.md):
/// the room may have processed it through the node's previous life, under another number.</param>
public sealed record ForwardedStanza(XElement Stanza, string ReplicaHost, ForwardNumber? Number = null, bool Resent = false);

/// <summary>
/// A replica's number for one forwarded stanza: numbers count up from 1 within <paramref name="Session"/> (one life
/// of the replica of one room), and <paramref name="Acknowledged"/> is the last the replica knows the room processed.
/// </summary>
public sealed record ForwardNumber(string Session, long Number, long Acknowledged);

/// <summary>The room processed the replica's forwards of <paramref name="Session"/> up to <paramref name="UpTo"/>, and sent what came of them.</summary>
public sealed record ForwardAck(string Session, long UpTo);

/// <summary>
/// An acknowledgement on its own, for forwards whose outcome needs no batch to the replica's host (a private message to
/// another host, say). It travels the way batches do, so it never overtakes the batch with an earlier outcome.
/// </summary>
public sealed record ForwardsAcknowledged(Jid Room, string ReplicaHost, ForwardAck Ack);

/// <summary>
/// What a replica forwarded and the room has not acknowledged, in a netjoin's report: the room processes those it has
/// not yet (by number), so nothing is lost in a cut and nothing is processed twice.
/// </summary>
/// <param name="First">The number of the first of <paramref name="Stanzas"/>; every forward before it was acknowledged.</param>
/// <param name="Stanzas">Each stanza as the user sent it, with when the replica forwarded it.</param>
public sealed record UnacknowledgedForwards(string Session, long First, IReadOnlyList<HeldStanza> Stanzas);

/// <summary>
/// A replica's receipt (docs/protocol/netjoin.md §5): its XMPP server's stream has taken everything the room sent
/// <paramref name="Sessions"/>, up to and including the room's message <paramref name="LastStanzaId"/> (null: the room had
/// none yet). Sent only once the stream has taken it, so a new incarnation of the replica's node, which knows nothing, is
/// resynced from that message on: what was written before it is not sent again, what was not yet is.
/// </summary>
public sealed record DeliveryReceipt(Jid Room, string ReplicaHost, string? LastStanzaId, IReadOnlyList<Jid> Sessions)
{
    /// <summary>Says what <paramref name="other"/> says: the same last message and the same sessions, in the same order.</summary>
    public bool SameAs(DeliveryReceipt other) =>
        Room == other.Room && ReplicaHost == other.ReplicaHost && LastStanzaId == other.LastStanzaId && Sessions.SequenceEqual(other.Sessions);
}

/// <summary>
/// A replica's word that its XMPP server is behind on what its node sends (over <c>Dmuc:MaxQueuedBytes</c>), or has caught up
/// (<paramref name="Behind"/> false): while it is behind, the room refuses its users' joins and messages from every host, since
/// what they cause would reach this host's users too (docs/protocol/dmuc.md, docs/operations.md#overload). Repeated while behind.
/// </summary>
public sealed record ServerBehind(Jid Room, string ReplicaHost, bool Behind);

/// <summary>
/// The replica did not add an occupant the primary announced, because that user never sent it directed
/// presence (XEP-0282 §4.5); the primary then treats the occupant as gone.
/// </summary>
public sealed record EnterRefused(Jid Room, Jid Occupant, string ReplicaHost);

/// <summary>
/// Keepalive (XEP-0282 §4.10) with XEP-0199 semantics: either end of a link sends it when it has heard nothing
/// for a while; the other end answers <see cref="KeepalivePong"/> with the same id at once.
/// </summary>
/// <param name="LastSentSequence">Only from the primary: the last batch its link sent. A replica that applied less
/// lost batches in a cut too short for either end to notice, and resyncs (docs/protocol/netjoin.md §2).</param>
/// <param name="UsersBeforeLink">Only from the primary: as on <see cref="ReplicaBatch.UsersBeforeLink"/>.</param>
public sealed record KeepalivePing(Jid Room, string ReplicaHost, string Id, long? LastSentSequence = null, bool UsersBeforeLink = false);

/// <param name="LastSentSequence">As on <see cref="KeepalivePing"/>: set when the primary answers.</param>
public sealed record KeepalivePong(Jid Room, string ReplicaHost, string Id, long? LastSentSequence = null);

/// <summary>The primary hears from a replica it holds split: the replica is to start a netjoin (<see cref="ResyncReplica"/>).</summary>
public sealed record RequestNetjoin(Jid Room, string ReplicaHost);

/// <summary>
/// The replica's half of a netjoin: what it did alone during the split (its users' leaves, presence changes,
/// messages, kicks and entries, to be processed by the primary as sent when the replica served them) and what it has, so that the primary can answer with
/// one batch (<see cref="ReplicaBatch.ResyncOf"/>) holding exactly what it missed.
/// </summary>
/// <param name="NetjoinId">Names this attempt; the replica takes only the resync that answers its latest one.</param>
/// <param name="LastSequence">The last batch the replica applied.</param>
/// <param name="LastStanzaId">The XEP-0359 id of the last room message the replica has.</param>
/// <param name="LocalOccupants">The replica's local roster: real JID → nick.</param>
/// <param name="Roster">How the replica last saw each occupant of the room.</param>
/// <param name="HeldStanzas">Its users' stanzas served locally during the split, in order, unchanged, each with when it was served.</param>
/// <param name="FirstHeldNumber">The number of the first held stanza (they are numbered for the life of the replica),
/// so that a primary that already processed some in a netjoin whose resync was lost does not process them twice.</param>
/// <param name="Unacknowledged">What the replica forwarded before the split and the room never acknowledged; null when
/// everything was.</param>
/// <param name="More">The report goes on in another part (a report larger than one remoting frame travels in parts,
/// docs/protocol/netjoin.md §3): the first part has the rosters, each part the next held stanzas and forwards.</param>
/// <param name="Part">Which part of the report this is, from 1: the primary takes a report only whole and in order.</param>
/// <param name="HeldSession">The life of the replica that numbered <paramref name="HeldStanzas"/> (its forwards' session): a next life
/// numbers its held stanzas from 1 again, and the primary's count of those it processed is per life.</param>
public sealed record ResyncReplica(
    Jid Room,
    string ReplicaHost,
    string NetjoinId,
    long LastSequence,
    string? LastStanzaId,
    IReadOnlyDictionary<Jid, string> LocalOccupants,
    IReadOnlyList<RosterEntry> Roster,
    IReadOnlyList<HeldStanza> HeldStanzas,
    long FirstHeldNumber,
    UnacknowledgedForwards? Unacknowledged = null,
    bool More = false,
    int Part = 1,
    string? HeldSession = null)
{
    /// <summary>
    /// This report in parts whose held stanzas and forwards weigh at most <paramref name="maxBytes"/> as XML (an item
    /// larger than that alone goes in a part of its own); the first part also has the rosters. One part when it fits.
    /// </summary>
    public IReadOnlyList<ResyncReplica> InParts(long maxBytes)
    {
        var stanzas = HeldStanzas.Select(held => (held, Unacknowledged: false))
            .Concat((Unacknowledged?.Stanzas ?? []).Select(sent => (held: sent, Unacknowledged: true))).ToList();
        var parts = new List<ResyncReplica>();
        var (heldFrom, unackedFrom, start) = (FirstHeldNumber, Unacknowledged?.First ?? 0, 0);
        // The first part also carries the rosters.
        long bytes = (LocalOccupants.Count + Roster.Count) * ElementOverheadBytes;
        void Close(int end)
        {
            var held = stanzas.Skip(start).Take(end - start).Where(s => !s.Unacknowledged).Select(s => s.held).ToList();
            var unacked = stanzas.Skip(start).Take(end - start).Where(s => s.Unacknowledged).Select(s => s.held).ToList();
            parts.Add(this with
            {
                LocalOccupants = parts.Count == 0 ? LocalOccupants : new Dictionary<Jid, string>(),
                Roster = parts.Count == 0 ? Roster : [],
                HeldStanzas = held,
                FirstHeldNumber = heldFrom,
                Unacknowledged = Unacknowledged is { } all && (unacked.Count > 0 || parts.Count == 0) ? all with { First = unackedFrom, Stanzas = unacked } : null,
                More = true,
                Part = parts.Count + 1,
            });
            heldFrom += held.Count;
            unackedFrom += unacked.Count;
            start = end;
            bytes = 0;
        }
        for (var index = 0; index < stanzas.Count; index++)
        {
            var size = Encoding.UTF8.GetByteCount(stanzas[index].held.Stanza.ToString(SaveOptions.DisableFormatting)) + ElementOverheadBytes;
            if (index > start && bytes + size > maxBytes) Close(index);
            bytes += size;
        }
        Close(stanzas.Count);
        parts[^1] = parts[^1] with { More = false };
        return parts;
    }

    /// <summary>What an entry of the rosters, or the replica's delay on a held stanza, weighs at most, near enough.</summary>
    private const int ElementOverheadBytes = 160;

    /// <summary>The whole report from its parts, in order (the first has the rosters).</summary>
    public static ResyncReplica Joined(IReadOnlyList<ResyncReplica> parts)
    {
        var first = parts[0];
        var unacked = parts.Select(part => part.Unacknowledged).OfType<UnacknowledgedForwards>().ToList();
        return first with
        {
            HeldStanzas = [.. parts.SelectMany(part => part.HeldStanzas)],
            Unacknowledged = unacked.Count == 0 ? null : unacked[0] with { Stanzas = [.. unacked.SelectMany(part => part.Stanzas)] },
            More = false,
            Part = 1,
        };
    }
}

/// <summary>A local user's stanza a split replica served itself, and when: the primary processes it at the netjoin as sent then.</summary>
/// <param name="Resent">The replica's server handed it again after the node's previous stream (docs/protocol/stream-ack.md §8): the room
/// drops it if it processed it through that life (<c>Dmuc.Rooms.Resends</c>).</param>
public sealed record HeldStanza(XElement Stanza, DateTimeOffset ServedAt, bool Resent = false);

/// <summary>
/// An occupant as a roster shows it: what a netjoin compares to tell whether the replica's users saw the
/// occupant's latest presence. Real JIDs and status codes are left out: they differ between recipients.
/// </summary>
public sealed record RosterEntry(string Nick, Affiliation Affiliation, Role Role, string? Show, string? Status)
{
    /// <summary>The entry an available occupant presence from <c>room/nick</c> announces; null for anything else.</summary>
    public static RosterEntry? FromPresence(XElement presence, Jid room)
    {
        if (presence.Name != Ns.Client + "presence" || presence.Attribute("type") is not null) return null;
        if (!Jid.TryParse(presence.Attribute("from")?.Value, out var from) || from.Bare != room || from.Resource is not { } nick) return null;
        if (presence.Element(Ns.MucUser + "x")?.Element(Ns.MucUser + "item") is not { } item) return null;
        MucNames.TryParseAffiliation(item.Attribute("affiliation")?.Value, out var affiliation);
        MucNames.TryParseRole(item.Attribute("role")?.Value, out var role);
        return new RosterEntry(nick, affiliation, role, presence.Element(Ns.Client + "show")?.Value, presence.Element(Ns.Client + "status")?.Value);
    }

    /// <summary>The occupant presence this entry announces, as an occupant who cannot see real JIDs gets it.</summary>
    public XElement ToPresence(Jid room) =>
        Stanzas.Presence(room.WithResource(Nick).ToString())
            .WithChild(Show is null ? null : new XElement(Ns.Client + "show", Show))
            .WithChild(Status is null ? null : new XElement(Ns.Client + "status", Status))
            .WithChild(Stanzas.MucUserX(Stanzas.Item(Affiliation, Role)));
}
