using System.Xml.Linq;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// What happened to a replica's room (<see cref="ReplicaRoomState.Apply(ReplicaRoomEvent)"/>): the only way its state changes.
/// A replica keeps nothing durable, so these are never journaled; they keep what a command decides apart from what it changes.
/// </summary>
public abstract record ReplicaRoomEvent;

/// <summary>A local user's available presence went to the room: their request to be in it, which §4.5 requires before an entry.</summary>
public sealed record EntryRequested(Jid User) : ReplicaRoomEvent;

/// <summary>A local user's unavailable presence went to the room: an entry for them is no longer theirs.</summary>
public sealed record EntryRequestWithdrawn(Jid User) : ReplicaRoomEvent;

/// <summary>
/// A batch of the primary was taken. <paramref name="Refused"/> are the entries nobody here asked for; <paramref name="Relearnt"/>, the own
/// host's users a netjoin's resync brought that this replica forgot, taken provisionally until they answer <paramref name="RelearnCheck"/>;
/// <paramref name="HeldForCheck"/>, what the batch sent those still being checked, which waits for the answer.
/// </summary>
public sealed record ReplicaBatchApplied(ReplicaBatch Batch, IReadOnlyList<Jid> Refused, string? RelearnCheck, IReadOnlyList<Jid> Relearnt,
    IReadOnlyList<Delivery> HeldForCheck) : ReplicaRoomEvent;

/// <summary>A relearnt user answered the room's ping as one who is there: they are as one who entered through this replica.</summary>
public sealed record SessionConfirmed(Jid User) : ReplicaRoomEvent;

/// <summary>A relearnt user's session is gone (their server said so, or the ping went unanswered): they are no longer here.</summary>
public sealed record UnconfirmedSessionGone(Jid User) : ReplicaRoomEvent;

/// <summary>During a split, a local user's stanza was served here and waits for the netjoin to reach the primary.</summary>
public sealed record StanzaHeldDuringSplit(HeldStanza Held) : ReplicaRoomEvent;

/// <summary>During a split, a local user entered under a nick the roster did not have.</summary>
public sealed record LocalOccupantEntered(Jid User, string Nick) : ReplicaRoomEvent;

/// <summary>During a split, a local occupant's presence was announced to the local occupants as <paramref name="Entry"/>.</summary>
public sealed record LocalPresenceChanged(RosterEntry Entry) : ReplicaRoomEvent;

/// <summary>During a split, a local occupant left (or their server said their session is gone).</summary>
public sealed record LocalOccupantLeft(Jid User, string Nick) : ReplicaRoomEvent;

/// <summary>During a split, a local moderator kicked the local occupant <paramref name="Nick"/> (all its <paramref name="Sessions"/>).</summary>
public sealed record LocalOccupantKicked(string Nick, IReadOnlyList<Jid> Sessions) : ReplicaRoomEvent;

/// <summary>During a split, a groupchat message said here was kept in the history until the netjoin brings the primary's copy.</summary>
public sealed record ProvisionalMessageKept(ReplicaHistoryEntry Entry) : ReplicaRoomEvent;

/// <summary>The link split: the local users were shown an occupant of another host as away (<see cref="SplitServing.MarkOthersAway"/>).</summary>
public sealed record OccupantShownAway(RosterEntry Away) : ReplicaRoomEvent;

/// <summary>A netjoin's resync ended: the first <paramref name="Count"/> held stanzas, which its report carried, reached the primary.</summary>
public sealed record HeldStanzasReachedPrimary(int Count) : ReplicaRoomEvent;

/// <summary>The primary was sent <paramref name="Receipt"/> (<see cref="ReplicaRoomState.ReceiptDue"/>), once the server's stream took what it covers.</summary>
public sealed record ReceiptSent(DeliveryReceipt Receipt) : ReplicaRoomEvent;

/// <summary>A netjoin started: the primary may have restarted and forgotten the last receipt, so the next is sent whatever it says.</summary>
public sealed record ReceiptsToBeSentAnew : ReplicaRoomEvent
{
    public static readonly ReceiptsToBeSentAnew Instance = new();
}

/// <summary>
/// What one command to a replica's room decided: its events, to apply (<see cref="ReplicaRoomState.Apply(ReplicaOutcome)"/>), and what to
/// send once they are — to local users, to the room (<paramref name="ToRoom"/>), and the entries the primary must hear were refused.
/// </summary>
public sealed record ReplicaOutcome(IReadOnlyList<ReplicaRoomEvent> Events, IReadOnlyList<Delivery> Deliveries)
{
    public static readonly ReplicaOutcome Nothing = new([], []);

    public IReadOnlyList<Jid> Refused { get; init; } = [];
    public IReadOnlyList<XElement> ToRoom { get; init; } = [];

    public static ReplicaOutcome Sending(IReadOnlyList<Delivery> deliveries) => new([], deliveries);
}
