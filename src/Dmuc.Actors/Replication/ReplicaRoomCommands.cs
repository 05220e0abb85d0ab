using System.Xml.Linq;

namespace Dmuc.Actors.Replication;

/// <summary>
/// What a replica's room is told or finds (<see cref="ReplicaRoomState.Process"/>), named for what it means. <see cref="Link"/> is the
/// link to the primary as its keepalive (<see cref="LinkKeepalive"/>) had it when the command arrived.
/// </summary>
public abstract record ReplicaRoomCommand(LinkState Link);

/// <summary>A local user's stanza for the room (or the service): forwarded, held for a netjoin under way, or served during a split.</summary>
/// <param name="Resent">This node's server handed it again after the node's previous stream (docs/protocol/stream-ack.md §8): the
/// room may have processed it through that life, so whatever brings it to the room says so.</param>
/// <param name="ServedBefore">Handed again with the server's word that the node's previous life served it to its users during a split
/// (stream-ack.md §8): its outcome is out, so it is held for the room without being served again.</param>
public sealed record LocalStanzaArrived(XElement Stanza, LinkState Link, DateTimeOffset Now, bool Resent = false, bool ServedBefore = false)
    : ReplicaRoomCommand(Link);

/// <summary>A batch of the primary, or a part of a netjoin's resync; its acknowledgement of our forwards holds whatever the batch is.</summary>
public sealed record BatchFromPrimary(ReplicaBatch Batch, LinkState Link, DateTimeOffset Now) : ReplicaRoomCommand(Link);

/// <summary>The primary's acknowledgement of our forwards, on its own.</summary>
public sealed record AcknowledgementFromPrimary(ForwardAck Ack, LinkState Link) : ReplicaRoomCommand(Link);

/// <summary>The primary's ping or pong, which says which batch it sent last (null: it did not say).</summary>
/// <param name="UsersBeforeLink">The ping says the room has users of our host from before its link (<see cref="KeepalivePing.UsersBeforeLink"/>).</param>
public sealed record KeepaliveFromPrimary(long? SentUpTo, LinkState Link, bool UsersBeforeLink = false) : ReplicaRoomCommand(Link);

/// <summary>The primary holds us split and heard from us: it asks for our half of a netjoin.</summary>
public sealed record NetjoinRequested(LinkState Link) : ReplicaRoomCommand(Link);

/// <summary>
/// A primary-capable node left the cluster (downed after a crash, or drained) while another still serves: forwards, pings and
/// a netjoin's report sent to it may have died with it. A replica with forwards unacknowledged, or whose link is already
/// split or rejoining, starts a netjoin with the node that is left now, rather than at its link's next timeout.
/// </summary>
public sealed record PrimaryNodeLeft(LinkState Link) : ReplicaRoomCommand(Link);

/// <summary>The link to the primary was just found split.</summary>
public sealed record LinkSplit(DateTimeOffset Now) : ReplicaRoomCommand(LinkState.Split);

/// <summary>A relearnt user's session check (<see cref="ReplicaRoomState.PendingChecks"/>) got no answer in time.</summary>
public sealed record SessionCheckTimedOut(string CheckId, LinkState Link, DateTimeOffset Now) : ReplicaRoomCommand(Link);

/// <summary>
/// The server's stream took everything sent before <paramref name="Receipt"/> was written (<paramref name="Written"/>), or could not
/// say so (it was down).
/// </summary>
public sealed record ReceiptWriteEnded(DeliveryReceipt Receipt, bool Written, LinkState Link) : ReplicaRoomCommand(Link);

/// <summary>
/// What this node's server says it last handed each local session of the room (docs/protocol/delivered.md), asked as the replica
/// starts: a relearnt user is then not sent again what the node's previous incarnation had handed them. Null: it cannot say.
/// </summary>
public sealed record OwnServerAnswered(Component.LastDelivered? Said) : ReplicaRoomCommand(LinkState.Linked);

/// <summary>The pause after a receipt (<see cref="ReplicaOutcome.ReceiptPause"/>) is over: the next may go.</summary>
public sealed record ReceiptPauseOver(LinkState Link) : ReplicaRoomCommand(Link);

/// <summary>This node's XMPP server is back and may have lost its sessions: the local occupants' sessions are to be checked.</summary>
public sealed record LocalSessionsCheckDue(LinkState Link) : ReplicaRoomCommand(Link);

/// <summary>This node is stopping.</summary>
public sealed record NodeStopping(LinkState Link) : ReplicaRoomCommand(Link);
