using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

public abstract record RoomCommand
{
    /// <summary>When the room handles the command.</summary>
    public abstract DateTimeOffset Now { get; init; }
}

/// <summary>A stanza addressed to this room (bare JID) or to one of its occupants (room/nick).</summary>
/// <param name="SentAt">When the user sent it, if the room hears of it only now (a replica held it through a
/// netsplit): a groupchat message is kept in the history with this time and relayed marked as delayed (XEP-0203).</param>
/// <param name="CreationDenied">Set when the sender may not create a room now (<see cref="RoomCreationQuota"/>): a
/// presence that would create this room is refused instead.</param>
/// <param name="ArchiveLookup">What the room's archive said about a message the stanza names and the room no longer keeps
/// in memory (<see cref="Decision.ArchiveLookup"/>): the stanza is handled again with the answer.</param>
/// <param name="Resent">The host server handed the stanza again after the node's previous component stream ended before
/// acknowledging it (docs/protocol/stream-ack.md): the room may have processed it already.</param>
/// <param name="SpokenAs">The nick its sender had in the room when a replica served this groupchat message to its host's users
/// during a netsplit, a sender the room let go only after that (docs/protocol/netjoin.md §7): the sender had its echo, so the room
/// keeps and relays the message as that occupant's though the sender is no longer in the room.</param>
public sealed record HandleStanza(XElement Stanza, DateTimeOffset Now, DateTimeOffset? SentAt = null, RoomCreationDenied? CreationDenied = null,
    ArchiveLookup? ArchiveLookup = null, bool Resent = false, string? SpokenAs = null)
    : RoomCommand;

/// <summary>Whether the room's archive holds the message with XEP-0359 id <see cref="StanzaId"/> (and it has not expired).</summary>
public sealed record ArchiveLookup(string StanzaId, bool Archived);

/// <summary>Service shutdown: every occupant is told it leaves with status 332.</summary>
public sealed record ShutDownRoom(DateTimeOffset Now) : RoomCommand;

/// <summary>A service administrator destroys the room from outside (e.g. an ad-hoc command).</summary>
public sealed record DestroyRoom(string? Reason, Jid? AlternateVenue, DateTimeOffset Now) : RoomCommand;

/// <summary>
/// The service kicks an occupant from outside (the operator's management endpoint). The room itself is the
/// actor, so no affiliation check applies and the 307 presence names no actor (XEP-0045 §8.2).
/// </summary>
public sealed record KickOccupant(string Nick, string? Reason, DateTimeOffset Now) : RoomCommand;

/// <summary>
/// The room's archive reader found that retention expired every archived message up to journal position
/// <see cref="ThroughSequenceNr"/> (stanza-id <see cref="ThroughStanzaId"/>).
/// </summary>
public sealed record ExpireArchivedMessages(long ThroughSequenceNr, string ThroughStanzaId, DateTimeOffset Now) : RoomCommand;

/// <summary>
/// One stanza to send. <see cref="Stanza"/> has <c>from</c> and no <c>to</c>: the sender adds <c>to</c>.
/// Deliveries with identical content share one <see cref="XElement"/> instance so it is rendered once.
/// </summary>
public sealed record Delivery(Jid To, XElement Stanza);

/// <param name="ArchiveRead">An archive query the room accepted, to be answered from its journal.</param>
/// <param name="ArchiveLookup">The stanza-id of a message the stanza names that only the archive may still hold: the
/// actor asks it, then handles the stanza again with the answer (<see cref="HandleStanza.ArchiveLookup"/>).</param>
public sealed record Decision(IReadOnlyList<RoomEvent> Events, IReadOnlyList<Delivery> Deliveries, ArchiveQuery? ArchiveRead = null,
    string? ArchiveLookup = null)
{
    public static readonly Decision Nothing = new([], []);
}
