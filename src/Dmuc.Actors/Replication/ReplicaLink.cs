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
    private long _sequence;
    private readonly UnstoredMessages _unstored = new();
    private readonly long _resyncPartBytes = ReplicationSettings.Of(Context.System).ResyncPartBytes;
    private long _withheld;
    // Since when the host has had no node in the cluster (downed, left, removed); null while it has one.
    private DateTimeOffset? _nodelessSince;
    private bool _hostGoneTold;

    // The service's own address has no room state to keep in step: its replies are sent and forgotten.
    public ReplicaLink(Jid room, string host, ClusterHosts hosts)
        : base(new LinkKeepalive(ReplicationSettings.Of(Context.System), DmucMetrics.Of(Context.System).TrackLink(room, LinkEnd.Primary),
            keepsAlive: room.Local is not null))
    {
        _room = room;
        _host = host;
        _hosts = hosts;
        Receive<ReplicateToHost>(HandleReplicate);
        Receive<SendResync>(HandleResync);
        // Forwards reached the room past a gap (lost in a cut neither end noticed): the replica's netjoin brings them in order.
        Receive<AskToRejoin>(_ =>
        {
            if (Keepalive.IsLinked) TrySend(new RequestNetjoin(_room, _host));
        });
        Receive<KeepalivePing>(HandlePingFromReplica);
        // The replica answers this link directly; only the node that serves the host may (docs/operations.md#security).
        Receive<KeepalivePong>(_ => SentByReplicaNode(), HandlePongFromReplica);
        Receive<EnterRefused>(_ => SentByReplicaNode(), refused =>
        {
            HeardFromReplica();
            Context.Parent.Forward(refused);
        });
        Receive<InspectLink>(_ => Sender.Tell(new LinkInspection(_host, _sequence, NodeOfHost?.ToString(), Keepalive.State,
            Keepalive.SplitSince, Keepalive.LastRtt, Keepalive.AverageRtt, _withheld)));
    }

    public static Props Props(Jid room, string host, ClusterHosts hosts) =>
        Akka.Actor.Props.Create(() => new ReplicaLink(room, host, hosts));

    public static string NameFor(string host) => "replica-" + Uri.EscapeDataString(host);

    /// <summary>
    /// Sends a decision's plan on behalf of <paramref name="owner"/> (a room, or the service itself): local deliveries to
    /// the sink, each replica host's items as one batch through the owner's link child for that host, with the
    /// acknowledgement of a replica host's forwards on that host's batch (or on its own) and, per host, what the sender
    /// is told should that host's batch be withheld (<see cref="SplitBounces"/>).
    /// </summary>
    public static void Dispatch(IActorContext context, Jid owner, Outgoing outgoing, IStanzaSink sink, ClusterHosts hosts)
    {
        var (plan, ack, bounces) = (outgoing.Plan, outgoing.Ack, outgoing.Bounces);
        sink.Send(plan.Local);
        foreach (var (host, items) in plan.ByHost)
            LinkTo(context, owner, host, hosts).Tell(new ReplicateToHost(items, ack?.Host == host ? ack.Value.Ack : null, bounces?.GetValueOrDefault(host),
                SaidThere: outgoing.SenderHost == host));
        if (ack is { } acknowledged && !plan.ByHost.ContainsKey(acknowledged.Host))
            LinkTo(context, owner, acknowledged.Host, hosts).Tell(new ReplicateToHost([], acknowledged.Ack));
    }

    /// <summary>The owner's link child for <paramref name="host"/>, started if there is none yet.</summary>
    public static IActorRef LinkTo(IActorContext context, Jid owner, string host, ClusterHosts hosts)
    {
        var name = NameFor(host);
        var link = context.Child(name);
        return link.IsNobody() ? context.ActorOf(Props(owner, host, hosts), name) : link;
    }

    private bool SentByReplicaNode() => _hosts.SpeaksFor(Sender.Path.Address, _host);

    private Address? NodeOfHost => _hosts.Hosts.GetValueOrDefault(_host);

    private void HandleReplicate(ReplicateToHost replicate)
    {
        if (replicate.Items.Count == 0)
        {
            // Only an acknowledgement; lost with a split link, the netjoin's report has the forward again.
            if (Keepalive.IsLinked && replicate.Ack is { } ack) TrySend(new ForwardsAcknowledged(_room, _host, ack));
            return;
        }
        // Withheld while split: the replica's netjoin brings it up to date in one resync; sending now would only be
        // lost or doubled. What a resync does not bring (one occupant's message to another) is answered with an error.
        if (!Keepalive.IsLinked || !TrySend(new ReplicaBatch(_room, _host, _sequence + 1, replicate.Items, Ack: replicate.Ack)))
        {
            _withheld++;
            if (!replicate.SaidThere) _unstored.Withheld(replicate.Items);
            if (replicate.Bounces is { Count: > 0 } bounces) Context.Parent.Tell(new Bounced(bounces));
            return;
        }
        _sequence++;
        if (!replicate.SaidThere) _unstored.Sent(_sequence, replicate.Items);
    }

    /// <summary>
    /// Sends the resync in as many numbered parts as the remoting frame needs (docs/protocol/netjoin.md §3), the
    /// acknowledgement on the last; the replica applies them in order and is linked again with the last.
    /// </summary>
    private void HandleResync(SendResync resync)
    {
        var missed = _unstored.NoticeOfMissed(_room, resync.ReplicaApplied);
        var parts = DmucCodec.InParts(missed is null ? resync.Items : [.. resync.Items, missed], _host, _resyncPartBytes);
        for (var index = 0; index < parts.Count; index++)
        {
            var last = index == parts.Count - 1;
            if (!TrySend(new ReplicaBatch(_room, _host, _sequence + 1, parts[index], resync.NetjoinId, last ? resync.Ack : null, More: !last))) return;
            _sequence++;
        }
        var splitSince = Keepalive.SplitSince;
        Keep(new NetjoinEnded(DateTimeOffset.UtcNow));
        _log.Info("Room {Room}: replica {ReplicaHost} {LinkState} again (netjoin {NetjoinId}, split since {SplitSince}); {WithheldBatches} batches were withheld",
            _room, _host, Keepalive.State, resync.NetjoinId, splitSince?.ToString("O") ?? "-", _withheld);
        if (parts.Count > 1) _log.Info("Room {Room}: the resync of netjoin {NetjoinId} went in {ResyncParts} parts", _room, resync.NetjoinId, parts.Count);
        Context.Parent.Tell(new ReplicaRejoined(_host, splitSince));
    }

    /// <summary>
    /// The pong goes the way batches go (through the host's replica directory), so it never overtakes a batch
    /// it counts: the replica takes a <c>seq</c> beyond what it applied as batches lost, not still on their way.
    /// </summary>
    private void HandlePingFromReplica(KeepalivePing ping)
    {
        TrySend(new KeepalivePong(ping.Room, ping.ReplicaHost, ping.Id, _sequence));
        HeardFromReplica();
    }

    private void HandlePongFromReplica(KeepalivePong pong)
    {
        Keep(new PongArrived(pong.Id, DateTimeOffset.UtcNow));
        HeardFromReplica();
    }

    /// <summary>Any word from the replica: across a split link it means the replica is back, so ask it to rejoin.</summary>
    private void HeardFromReplica()
    {
        var now = DateTimeOffset.UtcNow;
        Keep(new OtherEndHeard(now));
        if (!KeepsAlive || Keepalive.State != LinkState.Split) return;
        if (TrySend(new RequestNetjoin(_room, _host))) Keep(new NetjoinUnderWay(now));
    }

    protected override void SendPing(string id, DateTimeOffset now) => TrySend(new KeepalivePing(_room, _host, id, _sequence));

    protected override void OnKeepaliveChecked(DateTimeOffset now) => TellRoomIfHostGone(now);

    /// <summary>
    /// A host whose node left the cluster (downed, removed) for longer than a link takes to find a split has nobody to
    /// rejoin with: the room is told, once, so that it lets that host's occupants go rather than keep them forever. If the
    /// host comes back, its replica's netjoin settles what its users see.
    /// </summary>
    private void TellRoomIfHostGone(DateTimeOffset now)
    {
        if (NodeOfHost is not null)
        {
            _nodelessSince = null;
            _hostGoneTold = false;
            return;
        }
        _nodelessSince ??= now;
        if (_hostGoneTold || !KeepsAlive || now - _nodelessSince < Keepalive.AnswerTimeout) return;
        _hostGoneTold = true;
        _log.Warning("Room {Room}: replica host {ReplicaHost} has had no node in the cluster since {Since}; its occupants leave", _room, _host,
            _nodelessSince.Value.ToString("O"));
        Context.Parent.Tell(new ReplicaHostGone(_host));
    }

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
