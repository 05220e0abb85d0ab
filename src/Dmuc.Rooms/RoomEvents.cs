using System.Text.Json.Serialization;
using Dmuc.Xmpp;

namespace Dmuc.Rooms;

/// <summary>
/// What happened to a room. Durable events go to the journal and rebuild the room on recovery, its occupants
/// included (a node that crashes and restarts still knows who is in the room, and checks that they still are);
/// transient ones only count stanzas.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(RoomCreated), "room-created")]
[JsonDerivedType(typeof(RoomConfigured), "room-configured")]
[JsonDerivedType(typeof(AffiliationChanged), "affiliation-changed")]
[JsonDerivedType(typeof(SubjectChanged), "subject-changed")]
[JsonDerivedType(typeof(HistoryMessageAdded), "history-message-added")]
[JsonDerivedType(typeof(RoomDestroyed), "room-destroyed")]
[JsonDerivedType(typeof(MessageRetracted), "message-retracted")]
[JsonDerivedType(typeof(ArchivedMessagesExpired), "archived-messages-expired")]
[JsonDerivedType(typeof(OccupantSessionUpdated), "occupant-session-updated")]
[JsonDerivedType(typeof(OccupantSessionLeft), "occupant-session-left")]
[JsonDerivedType(typeof(OccupantRoleChanged), "occupant-role-changed")]
[JsonDerivedType(typeof(OccupantStanzaCounted), "occupant-stanza-counted")]
[JsonDerivedType(typeof(RelayedStanzaProcessed), "relayed-stanza-processed")]
[JsonDerivedType(typeof(RelayDelivered), "relay-delivered")]
[JsonDerivedType(typeof(SessionLetGo), "session-let-go")]
[JsonDerivedType(typeof(LetGoTold), "let-go-told")]
public abstract record RoomEvent
{
    [JsonIgnore]
    public abstract bool IsDurable { get; }
}

public abstract record DurableRoomEvent : RoomEvent
{
    [JsonIgnore]
    public sealed override bool IsDurable => true;
}

public abstract record TransientRoomEvent : RoomEvent
{
    [JsonIgnore]
    public sealed override bool IsDurable => false;
}

/// <summary>The room came into being; <see cref="Creator"/> becomes its owner. <see cref="Salt"/> keys the
/// room's occupant ids and private-IQ ids.</summary>
public sealed record RoomCreated(Jid Creator, RoomConfig Config, DateTimeOffset? LockedUntil, string Salt) : DurableRoomEvent;

/// <summary>The owner submitted the configuration form; this also unlocks a new room.</summary>
public sealed record RoomConfigured(RoomConfig Config) : DurableRoomEvent;

/// <summary>A user's affiliation (and registration data) is now as given; <see cref="Affiliation.None"/> removes it.</summary>
public sealed record AffiliationChanged(Jid Jid, Affiliation Affiliation, string? ReservedNick, string? Reason) : DurableRoomEvent;

public sealed record SubjectChanged(RoomSubject Subject) : DurableRoomEvent;

public sealed record HistoryMessageAdded(HistoryEntry Entry) : DurableRoomEvent;

/// <summary>
/// The message with stanza-id <see cref="StanzaId"/> was retracted at <see cref="At"/>: by its author (XEP-0424), or by
/// the moderator <see cref="ModeratedBy"/> (an occupant JID, XEP-0425). <see cref="RetractionId"/> is the id of the
/// message that announced it. The history and the archive show the message as a tombstone from now on.
/// </summary>
public sealed record MessageRetracted(string StanzaId, DateTimeOffset At, string? RetractionId, string? ModeratedBy = null,
    string? ModeratorOccupantId = null, string? Reason = null) : DurableRoomEvent;

/// <summary>
/// The archive's retention (<see cref="ArchiveRetention"/>) expired every message up to the one at journal position
/// <see cref="ThroughSequenceNr"/> (stanza-id <see cref="ThroughStanzaId"/>): they leave the archive and the history,
/// and the journal may delete its events up to there once a snapshot covers them.
/// </summary>
public sealed record ArchivedMessagesExpired(long ThroughSequenceNr, string ThroughStanzaId) : DurableRoomEvent;

/// <summary>The room is gone (destroyed by its owner or an admin, or emptied while temporary); a destroyed
/// persistent room leaves a tombstone until <see cref="TombstoneUntil"/>.</summary>
public sealed record RoomDestroyed(string? Reason, Jid? AlternateVenue, DateTimeOffset? TombstoneUntil = null) : DurableRoomEvent;

/// <summary>A session joined the occupant <see cref="Nick"/> or changed its presence; the occupant now has
/// <see cref="Role"/>. <see cref="Presence"/> is the session's presence as XML, without MUC payloads.</summary>
public sealed record OccupantSessionUpdated(string Nick, Jid RealJid, string Presence, Role Role) : DurableRoomEvent;

/// <summary>A session left the occupant; the occupant leaves with its last session.</summary>
/// <param name="At">When (the room's <see cref="RecentDepartures"/>); null in events journaled before it was kept (December 2026).</param>
public sealed record OccupantSessionLeft(string Nick, Jid RealJid, DateTimeOffset? At = null) : DurableRoomEvent;

/// <summary>The occupant's role changed; <see cref="Role.None"/> removes it from the room.</summary>
/// <param name="At">When (a removal counts in the room's <see cref="RecentDepartures"/>, as a leave does); null in events journaled
/// before removals were counted (December 2026).</param>
public sealed record OccupantRoleChanged(string Nick, Role Role, DateTimeOffset? At = null) : DurableRoomEvent;

/// <summary>A groupchat message or presence change of <see cref="User"/> (a bare JID) counted against the room's
/// stanza rate (<see cref="MucServiceOptions.OccupantStanzaRate"/>).</summary>
public sealed record OccupantStanzaCounted(Jid User, DateTimeOffset At) : TransientRoomEvent;

/// <summary>
/// The room processed stanza <see cref="Number"/> of what <see cref="Relay"/> (a replica host) numbered for it in
/// <see cref="Session"/>, and everything before it: a stanza relayed again (after a netsplit, or by a relay that never
/// heard the room's acknowledgement) is known and not processed twice. Durable only when the stanza changed the room
/// durably (<see cref="Kept"/>): what left nothing in the journal may be processed again after a restart, and costs
/// no write.
/// </summary>
public sealed record RelayedStanzaProcessed(string Relay, string Session, long Number, bool Kept) : RoomEvent
{
    [JsonIgnore]
    public override bool IsDurable => Kept;
}

/// <summary>How far the room processed what a relay numbered for it (<see cref="RelayedStanzaProcessed"/>).</summary>
public sealed record RelayPosition(string Relay, string Session, long Number);

/// <summary>
/// <see cref="Relay"/> (a replica host) says its XMPP server was handed everything the room sent <see cref="Sessions"/>, up to
/// and including the message <see cref="LastStanzaId"/> (null: none yet): a new incarnation of the relay's node, which knows
/// nothing, is resumed from there. Journaled only now and then (<see cref="Journaled"/>; a busy room gets one receipt per host
/// every few milliseconds), so that the room still knows it after its own restart; a receipt not journaled only costs a
/// relay that crashes with the room the messages since the last one that was, sent again.
/// </summary>
public sealed record RelayDelivered(string Relay, string? LastStanzaId, IReadOnlyList<Jid> Sessions, bool Journaled) : RoomEvent
{
    [JsonIgnore]
    public override bool IsDurable => Journaled;
}

/// <summary>What a relay's server was last handed (<see cref="RelayDelivered"/>), for the sessions still in the room.</summary>
public sealed record RelayReceipt(string Relay, string? LastStanzaId, IReadOnlyList<Jid> Sessions);

/// <summary>
/// The room let the session <see cref="RealJid"/> (<see cref="Nick"/>) go at <see cref="At"/> without its word
/// (<see cref="SessionsLetGo"/>): its server said it was gone (<see cref="Told"/>: its replica knows at once), or its host had no
/// node (its replica is told at the host's next netjoin, <see cref="LetGoTold"/>). Journaled beside the session's leaving.
/// </summary>
public sealed record SessionLetGo(string Nick, Jid RealJid, DateTimeOffset At, bool Told) : DurableRoomEvent;

/// <summary>A netjoin of <see cref="Host"/> told its replica at <see cref="At"/> of the sessions let go while it had no node.</summary>
public sealed record LetGoTold(string Host, DateTimeOffset At) : DurableRoomEvent;
