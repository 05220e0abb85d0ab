using Akka.Actor;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>A stanza from the XMPP server addressed to a room, an occupant or the service itself.</summary>
/// <param name="CreationDenied">The directory's refusal, should this presence create the room it is sent to.</param>
/// <param name="CreationReserved">The directory counted the room as the sender's should this presence create it:
/// the room answers with <see cref="RoomCreationSettled"/>.</param>
/// <param name="Relayed">The replica host that forwarded it and its number there (acknowledged forwards), for a
/// stanza a replica relayed.</param>
/// <param name="Receipt">Where its outcome is reported once durable, for a stanza the server numbered on the node's
/// component stream (docs/protocol/stream-ack.md): whoever gives it its outcome settles it.</param>
public sealed record RouteStanza(XElement Stanza, RoomCreationDenied? CreationDenied = null, bool CreationReserved = false,
    RelayedBy? Relayed = null, StreamReceipt? Receipt = null);

/// <summary>A stanza relayed by the replica of <paramref name="Host"/>, numbered <paramref name="Number"/>; <paramref name="Resent"/>
/// as <see cref="ForwardedStanza.Resent"/>.</summary>
public sealed record RelayedBy(string Host, ForwardNumber Number, bool Resent = false);

/// <summary>
/// The node's XMPP server (its component stream) is back: it may have lost its sessions (a crash), so every room checks
/// that its occupants on that server are still there (docs/protocol/netjoin.md §5).
/// </summary>
public sealed record CheckOccupants
{
    public static readonly CheckOccupants Instance = new();
}

/// <summary>Whether a presence the directory reserved a room creation for did create the room; told once that is in the journal.</summary>
public sealed record RoomCreationSettled(Jid Room, bool Created);

/// <summary>The node is stopping: every room tells its occupants (status 332) and answers <see cref="RoomsShutDown"/>.</summary>
public sealed record ShutDownRooms
{
    public static readonly ShutDownRooms Instance = new();
}

public sealed record RoomsShutDown(int Rooms);

/// <summary>Sent by a room to its directory when it has no occupants and nothing in memory worth keeping.</summary>
public sealed record RoomIdle(Jid Room);

/// <summary>
/// The directory's answer to <see cref="RoomIdle"/>, sent through the room's mailbox so that it comes after every
/// stanza already forwarded: one of them may have made the room busy again. Answered by stopping, or with
/// <see cref="RoomBusyAgain"/>.
/// </summary>
public sealed record StopIfIdle
{
    public static readonly StopIfIdle Instance = new();
}

/// <summary>
/// A sharded room stops once the writes it has pending are done: what its shard sends when the room passivated itself,
/// and when the shard is handed off to another node (a drain, a rebalance). Occupants are durable, so a room stopped with
/// some comes back with them wherever its shard is next (remember-entities starts it there at once).
/// </summary>
public sealed record PassivateRoom
{
    public static readonly PassivateRoom Instance = new();
}

/// <summary>Where a MUC domain's rooms live.</summary>
public enum RoomPlacement
{
    /// <summary>Children of the one primary node's room directory, passivated by it (SQLite or PostgreSQL).</summary>
    Local,

    /// <summary>
    /// Akka.Cluster.Sharding entities over every node with the primary role, in a journal they share (PostgreSQL):
    /// a room moves to another primary-capable node when its node is downed or leaves.
    /// </summary>
    Sharded,
}

/// <summary>A room asked to stop was no longer idle; the directory hands it the mail it held back meanwhile.</summary>
public sealed record RoomBusyAgain(Jid Room);

/// <summary>What a room reports of itself for service discovery (and for the <see cref="RoomIndex"/>).</summary>
public sealed record RoomListingChanged(Jid Room, string Name, int Occupants, bool IsPublic, bool Exists, bool IsPersistent);

/// <summary>Asks a room for what the operator tools show; answered with <see cref="RoomInspection"/>.</summary>
public sealed record InspectRoom(Jid Room);

/// <param name="Sessions">Every occupant session, in roster order.</param>
/// <param name="History">The discussion history as kept, oldest first.</param>
/// <param name="Links">The room's replica links that answered in time (primary side, one per remote host).</param>
/// <param name="Node">The address of the node the room's actor runs on.</param>
/// <param name="Receipts">Each replica host's last receipt: what its server was handed (docs/protocol/netjoin.md §5).</param>
public sealed record RoomInspection(Jid Room, bool Exists, string Name, IReadOnlyList<OccupantSessionView> Sessions,
    IReadOnlyList<HistoryEntry> History, long JournalSequenceNr, IReadOnlyList<ReplicaLink.LinkInspection> Links, Address Node,
    IReadOnlyList<DeliveryReceipt>? Receipts = null)
{
    /// <summary>Occupants, not sessions: several resources of one user under one nick count once.</summary>
    public int Occupants => Sessions.Select(session => session.Nick).Distinct().Count();
}

/// <summary>A service administrator destroys the room (ad-hoc command); answered with <see cref="AdminDestroyDone"/>.</summary>
public sealed record DestroyRoomAsAdmin(Jid Room, string? Reason);

public sealed record AdminDestroyDone(Jid Room, bool Destroyed);

/// <summary>The service kicks an occupant (management endpoint); answered with <see cref="AdminKickDone"/>.</summary>
public sealed record KickOccupantAsAdmin(Jid Room, string Nick, string? Reason);

public sealed record AdminKickDone(Jid Room, string Nick, AdminKickOutcome Outcome);

public enum AdminKickOutcome { Kicked, NoSuchRoom, NoSuchOccupant }
