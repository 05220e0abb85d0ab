using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The primary's side of one replica host's link (docs/protocol/netjoin.md §2–§3): the room's batches numbered for the host and
/// sent while linked, withheld (and their private messages bounced) while not; the resync that ends a netjoin, in parts; the
/// no-store messages the host missed (<see cref="UnstoredMessages"/>); and whether the host has been without a node long enough
/// for the room to let its occupants go. Pure and event-shaped: <see cref="Process"/> changes nothing, <see cref="Apply"/> alone
/// changes it; <see cref="ReplicaLink"/> keeps the link alive (<see cref="LinkKeepalive"/>), applies and sends.
/// </summary>
/// <param name="resyncPartBytes">The most one resync part may take of the remoting frame.</param>
/// <param name="usersBeforeLink">The room has users of the host that it did not learn through this link: it recovered them from its
/// journal (<see cref="PrimaryRoom.HasUsersFromBefore"/>). Until the link's first resync, its batches and pings say so, and a replica
/// that knows nobody (its node restarted too) netjoins to relearn them rather than take batch 1 as in step (docs/protocol/netjoin.md §5).</param>
public sealed class ReplicaLinkState(Jid room, string host, long resyncPartBytes, bool usersBeforeLink = false)
{
    private const string NoNode = "its host has no node in the cluster";

    private readonly UnstoredMessages _unstored = new();
    // What the replica keeps of each occupant's presence from the batches it applied, as it keeps it: a presence sent again goes as a nick.
    private readonly KeptPresences _sent = new(room);
    private bool _hostGoneTold;

    /// <summary>Batches sent; the last one's number.</summary>
    public long BatchesSent { get; private set; }

    /// <summary>Batches not sent because the link was split; the netjoin's resync replaced them.</summary>
    public long BatchesWithheld { get; private set; }

    /// <summary>Since when the host has had no node in the cluster (downed, left, removed); null while it has one.</summary>
    public DateTimeOffset? NodelessSince { get; private set; }

    /// <summary>Whether the batches and pings say the room has users of the host from before this link: until the first resync.</summary>
    public bool UsersBeforeLink { get; private set; } = usersBeforeLink && room.Local is not null;

    /// <summary>The link's keepalive ping: with the last batch sent, and whether the room has users of the host from before the link.</summary>
    public KeepalivePing Ping(string id) => new(room, host, id, BatchesSent, UsersBeforeLink);

    /// <summary>What one command does. Changes nothing.</summary>
    public ReplicaLinkOutcome Process(ReplicaLinkCommand command) => command switch
    {
        RoomItemsArrived arrived => Replicate(arrived),
        ResyncReady ready => Resync(ready),
        HostNodeChecked check => HostCheck(check),
        // Any word from the replica across a split link means it is back: it is asked to rejoin, and the link waits for its netjoin.
        ReplicaHeard heard => room.Local is null || heard.Link != LinkState.Split ? ReplicaLinkOutcome.Nothing
            : AskingToRejoin(heard.HostHasNode) with { AwaitsNetjoin = heard.HostHasNode },
        // Forwards reached the room past a gap (lost in a cut neither end noticed): the replica's netjoin brings them in order.
        RejoinNeeded needed => needed.Link == LinkState.Linked ? AskingToRejoin(needed.HostHasNode) : ReplicaLinkOutcome.Nothing,
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a command to a replica link"),
    };

    /// <summary>Processes a command and applies what it decided.</summary>
    public ReplicaLinkOutcome Handle(ReplicaLinkCommand command)
    {
        var outcome = Process(command);
        foreach (var happened in outcome.Events) Apply(happened);
        return outcome;
    }

    /// <summary>The only place the link's state changes.</summary>
    public void Apply(ReplicaLinkEvent happened)
    {
        switch (happened)
        {
            case BatchSent sent:
                BatchesSent++;
                if (!sent.SaidThere) _unstored.Sent(BatchesSent, sent.Items);
                foreach (var item in sent.Items) _sent.Take(item);
                break;
            case BatchWithheld withheld:
                BatchesWithheld++;
                if (!withheld.SaidThere) _unstored.Withheld(withheld.Items);
                // The replica misses this batch; what it keeps is known again only from its netjoin's resync on.
                _sent.Clear();
                break;
            case ResyncSent resync:
                BatchesSent += resync.Parts;
                _unstored.Forget();
                _sent.Clear();
                // The replica is in step now, with whoever it had to relearn.
                UsersBeforeLink = false;
                break;
            case HostNodeMissing missing:
                NodelessSince = missing.Since;
                // The host's node may come back as a new incarnation that keeps nothing.
                _sent.Clear();
                break;
            case HostNodeBack:
                NodelessSince = null;
                _hostGoneTold = false;
                break;
            case HostGoneTold:
                _hostGoneTold = true;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(happened), happened, "not an event of a replica link");
        }
    }

    /// <summary>
    /// The room's items for the host, from one command. Withheld while the link is not linked: the replica's netjoin brings it up to
    /// date in one resync; sending now would only be lost or doubled. What a resync does not bring (one occupant's message to another)
    /// is answered with an error. An acknowledgement alone, lost with a split link, is carried again by the netjoin's report.
    /// Presences the replica keeps already (an entrant's roster) go as their occupants' nicks (<see cref="KeptPresences"/>).
    /// </summary>
    private ReplicaLinkOutcome Replicate(RoomItemsArrived arrived)
    {
        var (items, ack, bounces, saidThere) = arrived.Replicate;
        var linked = arrived.Link == LinkState.Linked;
        if (items.Count == 0)
            return !linked || ack is null ? ReplicaLinkOutcome.Nothing
                : arrived.HostHasNode ? ReplicaLinkOutcome.Sending(new ForwardsAcknowledged(room, host, ack))
                : ReplicaLinkOutcome.Nothing with { SplitReason = NoNode };
        if (!linked || !arrived.HostHasNode)
            return new ReplicaLinkOutcome([new BatchWithheld(items, saidThere)])
            {
                SplitReason = linked ? NoNode : null,
                ToRoom = bounces is { Count: > 0 } ? [new ReplicaLink.Bounced(bounces)] : [],
            };
        var sent = _sent.SentAgainAsNicks(items);
        return new ReplicaLinkOutcome([new BatchSent(sent, saidThere)])
        {
            ToReplica = [new ReplicaBatch(room, host, BatchesSent + 1, sent, Ack: ack, UsersBeforeLink: UsersBeforeLink)],
        };
    }

    /// <summary>
    /// The room's answer to the replica's netjoin, in as many numbered parts as the remoting frame needs, ending with the notice of the
    /// no-store messages the host missed and with the acknowledgement; the replica applies them in order and is linked again with the last.
    /// </summary>
    private ReplicaLinkOutcome Resync(ResyncReady ready)
    {
        if (!ready.HostHasNode) return ReplicaLinkOutcome.Nothing with { SplitReason = NoNode };
        var resync = ready.Resync;
        var missed = _unstored.NoticeOfMissed(room, resync.ReplicaApplied);
        var parts = DmucCodec.InParts(missed is null ? resync.Items : [.. resync.Items, missed], host, resyncPartBytes);
        var batches = parts.Select((part, index) => index == parts.Count - 1
            ? new ReplicaBatch(room, host, BatchesSent + 1 + index, part, resync.NetjoinId, resync.Ack)
            : new ReplicaBatch(room, host, BatchesSent + 1 + index, part, resync.NetjoinId, More: true)).ToList();
        return new ReplicaLinkOutcome([new ResyncSent(parts.Count)]) { ToReplica = batches, Rejoined = true };
    }

    /// <summary>
    /// A host whose node left the cluster (downed, removed) for longer than a link takes to find a split has nobody to rejoin with:
    /// the room is told, once, so that it lets that host's occupants go rather than keep them forever. If the host comes back, its
    /// replica's netjoin settles what its users see. The service's own address keeps nobody and is never told.
    /// </summary>
    private ReplicaLinkOutcome AskingToRejoin(bool hostHasNode) =>
        hostHasNode ? ReplicaLinkOutcome.Sending(new RequestNetjoin(room, host)) : ReplicaLinkOutcome.Nothing with { SplitReason = NoNode };

    private ReplicaLinkOutcome HostCheck(HostNodeChecked check)
    {
        if (check.HostHasNode) return NodelessSince is null && !_hostGoneTold ? ReplicaLinkOutcome.Nothing : new([HostNodeBack.Instance]);
        var since = NodelessSince ?? check.Now;
        ReplicaLinkEvent[] missing = NodelessSince is null ? [new HostNodeMissing(since)] : [];
        if (_hostGoneTold || room.Local is null || check.Now - since < check.GoneAfter) return new(missing);
        return new ReplicaLinkOutcome([.. missing, HostGoneTold.Instance]) { ToRoom = [new ReplicaLink.ReplicaHostGone(host)] };
    }
}

/// <summary>What a replica link is told (<see cref="ReplicaLinkState.Process"/>).</summary>
public abstract record ReplicaLinkCommand;

/// <summary>The room's items for the host from one command; <paramref name="Link"/> as the keepalive has it, and whether the host has a node.</summary>
public sealed record RoomItemsArrived(ReplicaLink.ReplicateToHost Replicate, LinkState Link, bool HostHasNode) : ReplicaLinkCommand;

/// <summary>The room answered the replica's netjoin: its resync is to go out.</summary>
public sealed record ResyncReady(ReplicaLink.SendResync Resync, bool HostHasNode) : ReplicaLinkCommand;

/// <summary>The keepalive's check looked whether the host has a node; the room lets its occupants go after <paramref name="GoneAfter"/> without.</summary>
public sealed record HostNodeChecked(bool HostHasNode, DateTimeOffset Now, TimeSpan GoneAfter) : ReplicaLinkCommand;

/// <summary>Anything from the host's replica arrived.</summary>
public sealed record ReplicaHeard(LinkState Link, bool HostHasNode) : ReplicaLinkCommand;

/// <summary>The room needs the replica's netjoin: its forwards arrived past a gap.</summary>
public sealed record RejoinNeeded(LinkState Link, bool HostHasNode) : ReplicaLinkCommand;

/// <summary>What happened to a replica link (<see cref="ReplicaLinkState.Apply"/>).</summary>
public abstract record ReplicaLinkEvent;

/// <summary>A batch with <paramref name="Items"/> went out; <paramref name="SaidThere"/>: they answer a stanza of one of the host's users.</summary>
public sealed record BatchSent(IReadOnlyList<ReplicaItem> Items, bool SaidThere) : ReplicaLinkEvent;

public sealed record BatchWithheld(IReadOnlyList<ReplicaItem> Items, bool SaidThere) : ReplicaLinkEvent;

/// <summary>A netjoin's resync went out in <paramref name="Parts"/> batches; what the host missed is told and forgotten.</summary>
public sealed record ResyncSent(int Parts) : ReplicaLinkEvent;

public sealed record HostNodeMissing(DateTimeOffset Since) : ReplicaLinkEvent;

public sealed record HostNodeBack : ReplicaLinkEvent
{
    public static readonly HostNodeBack Instance = new();
}

/// <summary>The room was told the host is gone (<see cref="ReplicaLink.ReplicaHostGone"/>); it is told once until the host has a node again.</summary>
public sealed record HostGoneTold : ReplicaLinkEvent
{
    public static readonly HostGoneTold Instance = new();
}

/// <summary>
/// What one command to a replica link decided: its events, what to send the host's replica (through its directory) and the room, the link
/// found split (<see cref="SplitReason"/>), whether the replica was asked to rejoin and the link now waits for its netjoin
/// (<see cref="AwaitsNetjoin"/>), and whether a netjoin's resync went out (<see cref="Rejoined"/>).
/// </summary>
public sealed record ReplicaLinkOutcome(IReadOnlyList<ReplicaLinkEvent> Events)
{
    public static readonly ReplicaLinkOutcome Nothing = new([]);

    public IReadOnlyList<object> ToReplica { get; init; } = [];
    public IReadOnlyList<object> ToRoom { get; init; } = [];
    public string? SplitReason { get; init; }
    public bool AwaitsNetjoin { get; init; }
    public bool Rejoined { get; init; }

    public static ReplicaLinkOutcome Sending(object toReplica) => new([]) { ToReplica = [toReplica] };
}
