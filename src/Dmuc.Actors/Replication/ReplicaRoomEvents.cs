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

/// <summary>What this node's server said it last handed each local session (<see cref="OwnServerAnswered"/>).</summary>
public sealed record OwnServerSaid(Component.LastDelivered Said) : ReplicaRoomEvent;

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

/// <summary>Each local occupant's session was pinged from the room with the check <paramref name="CheckId"/>.</summary>
public sealed record LocalSessionsProbed(string CheckId) : ReplicaRoomEvent;

/// <summary>A local user's stanza arrived while a netjoin was under way: it waits for the netjoin's outcome (linked, or split again).</summary>
/// <param name="Resent">This node's server handed it again (<see cref="LocalStanzaArrived.Resent"/>).</param>
public sealed record StanzaWaitingForNetjoin(XElement Stanza, bool Resent = false) : ReplicaRoomEvent;

/// <summary>The netjoin ended (linked, or split again): the stanzas that waited for it go their way now, in order.</summary>
public sealed record WaitingStanzasReleased : ReplicaRoomEvent
{
    public static readonly WaitingStanzasReleased Instance = new();
}

/// <summary>A local user's stanza went to the primary numbered (<see cref="ForwardWindow"/>): kept until the room acknowledges it.</summary>
/// <param name="Resent">This node's server handed it again (<see cref="LocalStanzaArrived.Resent"/>).</param>
public sealed record StanzaForwarded(XElement Stanza, DateTimeOffset At, bool Resent = false) : ReplicaRoomEvent;

/// <summary>An unacknowledged forward was shown to the local users as the link split (it stays in the window for the netjoin).</summary>
public sealed record ForwardServedAtSplit(XElement Stanza) : ReplicaRoomEvent;

/// <summary>The room processed our forwards up to <paramref name="Ack"/>: they are no longer ours to resend.</summary>
public sealed record ForwardsAcknowledgedUpTo(ForwardAck Ack) : ReplicaRoomEvent;

/// <summary>A receipt waits for the server's stream to take what it covers; no other receipt is taken meanwhile.</summary>
public sealed record ReceiptWriting(DeliveryReceipt Receipt) : ReplicaRoomEvent;

/// <summary>The primary was sent <paramref name="Receipt"/> (<see cref="ReplicaRoomState.ReceiptDue"/>), once the server's stream took what it covers.</summary>
public sealed record ReceiptSent(DeliveryReceipt Receipt) : ReplicaRoomEvent;

/// <summary>A receipt's write ended (sent or not): the next waits for the pause (<see cref="ReplicaOutcome.ReceiptPause"/>).</summary>
public sealed record ReceiptPaused : ReplicaRoomEvent
{
    public static readonly ReceiptPaused Instance = new();
}

/// <summary>The pause after a receipt is over.</summary>
public sealed record ReceiptPauseEnded : ReplicaRoomEvent
{
    public static readonly ReceiptPauseEnded Instance = new();
}

/// <summary>A netjoin started: the primary may have restarted and forgotten the last receipt, so the next is sent whatever it says.</summary>
public sealed record ReceiptsToBeSentAnew : ReplicaRoomEvent
{
    public static readonly ReceiptsToBeSentAnew Instance = new();
}

/// <summary>A netjoin started with <paramref name="Report"/>, which replaces any earlier one still unanswered (<see cref="ReplicaSync"/>).</summary>
public sealed record NetjoinStarted(ResyncReplica Report) : ReplicaRoomEvent;

/// <summary>A part of the netjoin's resync was taken; the last part ends the netjoin.</summary>
public sealed record ResyncPartTaken(bool Complete) : ReplicaRoomEvent;

/// <summary>The link split again before the netjoin was answered: a late answer no longer counts.</summary>
public sealed record NetjoinAbandoned : ReplicaRoomEvent
{
    public static readonly NetjoinAbandoned Instance = new();
}

/// <summary>What a batch of the primary that is a resync did to the netjoin under way.</summary>
public enum ResyncStep
{
    /// <summary>The batch was no resync.</summary>
    None,
    /// <summary>It answers no netjoin under way (an older one's, or a part after a lost one): nothing was taken.</summary>
    Ignored,
    /// <summary>A part was taken and more are to come: the netjoin is still answered.</summary>
    PartTaken,
    /// <summary>The last part was taken: the replica is in step with its primary again.</summary>
    NetjoinComplete,
}

/// <summary>A local user's stanza for the primary; numbered (<see cref="ForwardWindow"/>) unless it is for the service itself.</summary>
/// <param name="Resent">This node's server handed it again: the room drops it if it processed it through the node's previous life.</param>
public sealed record PrimaryForward(XElement Stanza, ForwardNumber? Number, bool Resent = false);

/// <summary>
/// What one command to a replica's room decided (<see cref="ReplicaRoomState.Process"/>): its events, to apply
/// (<see cref="ReplicaRoomState.Apply(ReplicaOutcome)"/>), and what to send once they are. <see cref="ReplicaRoomState.Handle"/> also
/// takes the commands in <see cref="Then"/> and folds what they decide into one outcome.
/// </summary>
public sealed record ReplicaOutcome(IReadOnlyList<ReplicaRoomEvent> Events, IReadOnlyList<Delivery> Deliveries)
{
    public static readonly ReplicaOutcome Nothing = new([], []);

    /// <summary>
    /// The local users' stanzas this outcome served them and the replica holds for the room (held during the split, or a forward
    /// served at the split): their server is to mark them served (docs/protocol/stream-ack.md §8).
    /// </summary>
    public IEnumerable<XElement> ServedAndHeld => Events.Select(happened => happened switch
    {
        StanzaHeldDuringSplit held => held.Held.Stanza,
        ForwardServedAtSplit served => served.Stanza,
        _ => null,
    }).OfType<XElement>();

    /// <summary>The entries the primary must hear were refused (nobody here asked for them).</summary>
    public IReadOnlyList<Jid> Refused { get; init; } = [];
    /// <summary>Local users' stanzas to forward to the primary now.</summary>
    public IReadOnlyList<PrimaryForward> Forwards { get; init; } = [];
    /// <summary>Relearnt users found gone by the room's check of their session.</summary>
    public IReadOnlyList<Jid> SessionsGone { get; init; } = [];
    /// <summary>Commands that follow from this one once its events are applied (stanzas released, a check's answer relayed).</summary>
    public IReadOnlyList<ReplicaRoomCommand> Then { get; init; } = [];
    /// <summary>The report of a netjoin this command started, to send to the primary; <see cref="NetjoinWhy"/> says why when it was a surprise.</summary>
    public ResyncReplica? Netjoin { get; init; }
    public string? NetjoinWhy { get; init; }
    public ResyncStep Resync { get; init; }
    /// <summary>A receipt to send once the server's stream took what was sent before it (then <see cref="ReceiptWriteEnded"/>).</summary>
    public DeliveryReceipt? ReceiptToWrite { get; init; }
    /// <summary>A receipt to send to the primary now.</summary>
    public DeliveryReceipt? ReceiptToSend { get; init; }
    /// <summary>How long until the next receipt may go (then <see cref="ReceiptPauseOver"/>).</summary>
    public TimeSpan? ReceiptPause { get; init; }

    public static ReplicaOutcome Sending(IReadOnlyList<Delivery> deliveries) => new([], deliveries);

    public static ReplicaOutcome Of(params ReplicaRoomEvent[] events) => new(events, []);

    /// <summary>This outcome and then <paramref name="next"/>'s, as one.</summary>
    public ReplicaOutcome FollowedBy(ReplicaOutcome next) => new([.. Events, .. next.Events], [.. Deliveries, .. next.Deliveries])
    {
        Refused = [.. Refused, .. next.Refused],
        Forwards = [.. Forwards, .. next.Forwards],
        SessionsGone = [.. SessionsGone, .. next.SessionsGone],
        Then = [.. Then, .. next.Then],
        Netjoin = next.Netjoin ?? Netjoin,
        NetjoinWhy = next.Netjoin is not null ? next.NetjoinWhy : NetjoinWhy,
        Resync = next.Resync != ResyncStep.None ? next.Resync : Resync,
        ReceiptToWrite = next.ReceiptToWrite ?? ReceiptToWrite,
        ReceiptToSend = next.ReceiptToSend ?? ReceiptToSend,
        ReceiptPause = next.ReceiptPause ?? ReceiptPause,
    };
}
