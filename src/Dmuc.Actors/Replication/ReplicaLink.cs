using Akka.Actor;
using Akka.Event;
using Dmuc.Actors.Component;
using Dmuc.Actors.Telemetry;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The primary's side of one replica: a child of the room actor per remote XMPP host that has occupants.
/// Numbers the room's batches for that host and sends each as one message to the host's node; keeps the link
/// alive (XEP-0282 §4.10) and, once it is split (§4.11.1), withholds batches until the replica's netjoin.
/// </summary>
public sealed class ReplicaLink : KeepaliveActor
{
    private readonly Jid _room;
    private readonly string _host;
    private readonly ClusterHosts _hosts;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ReplicaLinkState _state;

    // The service's own address has no room state to keep in step: its replies are sent and forgotten.
    /// <param name="usersBeforeLink">The room has users of the host from before this link (<see cref="ReplicaLinkState"/>).</param>
    public ReplicaLink(Jid room, string host, ClusterHosts hosts, bool usersBeforeLink)
        : base(new LinkKeepalive(ReplicationSettings.Of(Context.System), DmucMetrics.Of(Context.System).TrackLink(room, LinkEnd.Primary),
            keepsAlive: room.Local is not null))
    {
        _room = room;
        _host = host;
        _hosts = hosts;
        _state = new ReplicaLinkState(room, host, ReplicationSettings.Of(Context.System).ResyncPartBytes, usersBeforeLink);
        Receive<ReplicateToHost>(replicate => Handle(new RoomItemsArrived(replicate, Keepalive.State, NodeOfHost is not null)));
        Receive<SendResync>(resync => Handle(new ResyncReady(resync, NodeOfHost is not null)));
        Receive<AskToRejoin>(_ => Handle(new RejoinNeeded(Keepalive.State, NodeOfHost is not null)));
        Receive<KeepalivePing>(HandlePingFromReplica);
        // The replica answers this link directly; only the node that serves the host may (docs/operations.md#security).
        Receive<KeepalivePong>(_ => SentByReplicaNode(), HandlePongFromReplica);
        Receive<EnterRefused>(_ => SentByReplicaNode(), refused =>
        {
            HeardFromReplica();
            Context.Parent.Forward(refused);
        });
        Receive<InspectLink>(_ => Sender.Tell(new LinkInspection(_host, _state.BatchesSent, NodeOfHost?.ToString(), Keepalive.State,
            Keepalive.SplitSince, Keepalive.LastRtt, Keepalive.AverageRtt, _state.BatchesWithheld)));
    }

    public static Props Props(Jid room, string host, ClusterHosts hosts, bool usersBeforeLink) =>
        Akka.Actor.Props.Create(() => new ReplicaLink(room, host, hosts, usersBeforeLink));

    public static string NameFor(string host) => "replica-" + Uri.EscapeDataString(host);

    /// <summary>
    /// Sends a decision's plan on behalf of <paramref name="owner"/> (a room, or the service itself): local deliveries to
    /// the sink, each replica host's items as one batch through the owner's link child for that host, with the
    /// acknowledgement of a replica host's forwards on that host's batch (or on its own) and, per host, what the sender
    /// is told should that host's batch be withheld (<see cref="SplitBounces"/>).
    /// </summary>
    /// <param name="usersBeforeLink">For a link started now: whether the owner has users of its host from before it (<see cref="LinkTo"/>).</param>
    public static void Dispatch(IActorContext context, Jid owner, Outgoing outgoing, IStanzaSink sink, ClusterHosts hosts,
        Func<string, bool>? usersBeforeLink = null)
    {
        var (plan, ack, bounces) = (outgoing.Plan, outgoing.Ack, outgoing.Bounces);
        sink.Send(plan.Local);
        foreach (var (host, items) in plan.ByHost)
            LinkTo(context, owner, host, hosts, usersBeforeLink).Tell(new ReplicateToHost(items, ack?.Host == host ? ack.Value.Ack : null,
                bounces?.GetValueOrDefault(host), SaidThere: outgoing.SenderHost == host));
        if (ack is { } acknowledged && !plan.ByHost.ContainsKey(acknowledged.Host))
            LinkTo(context, owner, acknowledged.Host, hosts, usersBeforeLink).Tell(new ReplicateToHost([], acknowledged.Ack));
    }

    /// <summary>The owner's link child for <paramref name="host"/>, started if there is none yet.</summary>
    /// <param name="usersBeforeLink">Asked only when the link starts: whether the owner has users of the host that it did not learn
    /// through this link (a room recovered them, <see cref="PrimaryRoom.HasUsersFromBefore"/>).</param>
    public static IActorRef LinkTo(IActorContext context, Jid owner, string host, ClusterHosts hosts, Func<string, bool>? usersBeforeLink = null)
    {
        var name = NameFor(host);
        var link = context.Child(name);
        return link.IsNobody() ? context.ActorOf(Props(owner, host, hosts, usersBeforeLink?.Invoke(host) == true), name) : link;
    }

    private bool SentByReplicaNode() => _hosts.SpeaksFor(Sender.Path.Address, _host);

    private Address? NodeOfHost => _hosts.Hosts.GetValueOrDefault(_host);

    /// <summary>Has the link's state decide what the command does and apply it, then sends what it decided.</summary>
    private void Handle(ReplicaLinkCommand command)
    {
        var outcome = _state.Handle(command);
        if (outcome.SplitReason is { } reason) MarkSplit(reason);
        foreach (var message in outcome.ToReplica) TrySend(message);
        foreach (var message in outcome.ToRoom)
        {
            if (message is ReplicaHostGone)
                _log.Warning("Room {Room}: replica host {ReplicaHost} has had no node in the cluster since {Since}; its occupants leave", _room, _host,
                    _state.NodelessSince?.ToString("O"));
            Context.Parent.Tell(message);
        }
        if (outcome.AwaitsNetjoin) Keep(new NetjoinUnderWay(DateTimeOffset.UtcNow));
        if (outcome.Rejoined && command is ResyncReady ready) Rejoined(ready.Resync, outcome.ToReplica.Count);
    }

    /// <summary>The resync went out: the replica is linked again once it applies it (docs/protocol/netjoin.md §3).</summary>
    private void Rejoined(SendResync resync, int parts)
    {
        var splitSince = Keepalive.SplitSince;
        Keep(new NetjoinEnded(DateTimeOffset.UtcNow));
        _log.Info("Room {Room}: replica {ReplicaHost} {LinkState} again (netjoin {NetjoinId}, split since {SplitSince}); {WithheldBatches} batches were withheld",
            _room, _host, Keepalive.State, resync.NetjoinId, splitSince?.ToString("O") ?? "-", _state.BatchesWithheld);
        if (parts > 1) _log.Info("Room {Room}: the resync of netjoin {NetjoinId} went in {ResyncParts} parts", _room, resync.NetjoinId, parts);
        Context.Parent.Tell(new ReplicaRejoined(_host, splitSince));
    }

    /// <summary>
    /// The pong goes the way batches go (through the host's replica directory), so it never overtakes a batch
    /// it counts: the replica takes a <c>seq</c> beyond what it applied as batches lost, not still on their way.
    /// </summary>
    private void HandlePingFromReplica(KeepalivePing ping)
    {
        TrySend(new KeepalivePong(ping.Room, ping.ReplicaHost, ping.Id, _state.BatchesSent));
        HeardFromReplica();
    }

    private void HandlePongFromReplica(KeepalivePong pong)
    {
        Keep(new PongArrived(pong.Id, DateTimeOffset.UtcNow));
        HeardFromReplica();
    }

    /// <summary>Any word from the replica proves the link carries traffic; across a split link it means the replica is back.</summary>
    private void HeardFromReplica()
    {
        Keep(new OtherEndHeard(DateTimeOffset.UtcNow));
        Handle(new ReplicaHeard(Keepalive.State, NodeOfHost is not null));
    }

    protected override void SendPing(string id, DateTimeOffset now) => TrySend(_state.Ping(id));

    /// <summary>As often as the keepalive looks: whether the host has been without a node for longer than a link takes to find a split.</summary>
    protected override void OnKeepaliveChecked(DateTimeOffset now) => Handle(new HostNodeChecked(NodeOfHost is not null, now, Keepalive.AnswerTimeout));

    /// <summary>Sends to the replica host's directory; a host that has no node any more is a bounce (§4.11.1).</summary>
    private bool TrySend(object message)
    {
        if (NodeOfHost is not { } node)
        {
            MarkSplit("its host has no node in the cluster");
            return false;
        }
        Context.ActorSelection(new RootActorPath(node) / "user" / ReplicaDirectory.Name).Tell(message, Self);
        return true;
    }

    protected override void OnSplit(string reason, DateTimeOffset now)
    {
        _log.Warning("Room {Room}: replica {ReplicaHost} {LinkState} ({Reason}); batches withheld until it rejoins", _room, _host, Keepalive.State, reason);
        Context.Parent.Tell(new ReplicaSplit(_host, Keepalive.SplitSince ?? now));
    }

    /// <summary>The room's items for this link's host, from one command.</summary>
    /// <param name="Ack">The host's forwards processed with this command; sent with the batch, or alone when there are no items.</param>
    /// <param name="Bounces">What the room answers, should the batch be withheld.</param>
    /// <param name="SaidThere">The items answer a stanza of one of the host's users: what that user said, the host's users have seen.</param>
    public sealed record ReplicateToHost(IReadOnlyList<ReplicaItem> Items, ForwardAck? Ack = null, IReadOnlyList<Delivery>? Bounces = null,
        bool SaidThere = false);

    /// <summary>The room's answer to a replica's netjoin: send these items as the one resync batch.</summary>
    /// <param name="ReplicaApplied">The last batch the replica applied, as its netjoin reported.</param>
    public sealed record SendResync(string NetjoinId, IReadOnlyList<ReplicaItem> Items, long ReplicaApplied, ForwardAck? Ack = null);

    /// <summary>A batch was withheld: the room sends these answers to the senders of what it carried (told to the room).</summary>
    public sealed record Bounced(IReadOnlyList<Delivery> Deliveries);

    /// <summary>The room asks the replica for a netjoin (its forwards arrived past a gap).</summary>
    public sealed class AskToRejoin
    {
        public static readonly AskToRejoin Instance = new();
    }

    /// <summary>The link to <paramref name="Host"/> was found split; told to the room.</summary>
    public sealed record ReplicaSplit(string Host, DateTimeOffset Since);

    /// <summary><paramref name="Host"/> has had no node in the cluster for a while; told to the room.</summary>
    public sealed record ReplicaHostGone(string Host);

    /// <summary>The replica of <paramref name="Host"/> is in step again after a netjoin; told to the room.</summary>
    public sealed record ReplicaRejoined(string Host, DateTimeOffset? SplitSince);

    public sealed class InspectLink
    {
        public static readonly InspectLink Instance = new();
    }

    /// <param name="BatchesWithheld">Batches not sent because the link was split; the netjoin's resync replaced them.</param>
    public sealed record LinkInspection(string Host, long BatchesSent, string? Node, LinkState State, DateTimeOffset? SplitSince,
        TimeSpan? LastRtt, TimeSpan? AverageRtt, long BatchesWithheld);
}
