using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Dmuc.Actors.Component;
using Dmuc.Actors.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// On a replica node, receives everything the local XMPP server sends to the MUC domain and every batch the
/// primary sends: one <see cref="ReplicaRoom"/> child per room; stanzas for the service itself go straight
/// to the primary.
/// </summary>
public sealed class ReplicaDirectory : ReceiveActor, IWithTimers
{
    public const string Name = "replicas";

    /// <summary>
    /// When the netjoin asked for at a primary node's removal is asked again: its room's shard keeps its dead home until the
    /// downing's removal margin (1 s) has passed and the coordinator has placed it again, and a request sent meanwhile is
    /// lost; the keepalive's ping timeout (10 s) would be the next chance (a failover took 18 s instead of 7).
    /// </summary>
    public static readonly TimeSpan NetjoinAskedAgainAfterRemoval = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The longest a stanza from this node's server waits for the cluster to name this node for its host (<see cref="NamingHold"/>)
    /// before it is answered with an error: a standby's take-over, a restarted node's join, take a few seconds.
    /// </summary>
    public static readonly TimeSpan NamingWait = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan NamingLookInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long this node must have been named before what waited goes on: this node names itself as soon as it sees the node it
    /// took over from downed, the primary a gossip round or two later (every 500 ms), and refuses this node's netjoin until then.
    /// </summary>
    public static readonly TimeSpan NamedEverywhereAfter = TimeSpan.FromSeconds(2);

    private readonly ClusterHosts _hosts;
    private readonly IStanzaSink _sink;
    private readonly Dictionary<Jid, IActorRef> _rooms = new();
    private readonly NamingHold _namingHold = new(NamedEverywhereAfter, NamingWait);
    // The primary's word for rooms whose stanzas from this node's server wait for the naming (NamingHold.HoldsFor), in order.
    private readonly List<(object Message, IActorRef Sender)> _primaryBehindNamingHold = [];
    private Address? _self;

    public ReplicaDirectory(ClusterHosts hosts, IStanzaSink sink)
    {
        _hosts = hosts;
        _sink = sink;
        Receive<RouteStanza>(HandleStanzaFromServer);
        Receive<LookForNaming>(_ => HandleNamingLook());
        Receive<ReplicaBatch>(SentByPrimary, batch =>
        {
            if (!WaitsBehindNamingHold(batch.Room, batch)) ReplicaFor(batch.Room).Forward(batch);
        });
        Receive<KeepalivePing>(SentByPrimary, ping =>
        {
            if (!WaitsBehindNamingHold(ping.Room, ping)) HandlePingFromPrimary(ping);
        });
        Receive<KeepalivePong>(SentByPrimary, pong => _rooms.GetValueOrDefault(pong.Room)?.Forward(pong));
        Receive<ForwardsAcknowledged>(SentByPrimary, ack => _rooms.GetValueOrDefault(ack.Room)?.Forward(ack));
        // A primary that holds us split for a room we do not know (this node restarted) still needs its netjoin.
        Receive<RequestNetjoin>(SentByPrimary, request =>
        {
            if (!WaitsBehindNamingHold(request.Room, request)) ReplicaFor(request.Room).Forward(request);
        });
        Receive<ShutDownRooms>(_ => HandleShutdown());
        Receive<CheckOccupants>(check =>
        {
            foreach (var replica in _rooms.Values) replica.Forward(check);
        });
        Receive<ListReplicas>(_ => Sender.Tell(new ReplicaList(_rooms.Keys.ToList())));
        Receive<ClusterHostsWatcher.PrimaryNodeRemoved>(HandlePrimaryNodeRemoved);
        Receive<PrimaryNodeRemovedAWhileAgo>(ago => TellRoomsPrimaryNodeRemoved(ago.Removed));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Context.System.EventStream.Subscribe<ClusterHostsWatcher.PrimaryNodeRemoved>(Self);

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    /// <summary>
    /// Forwards go to the one primary node (<see cref="ClusterHosts.PrimaryNode"/>), which hands them to the room wherever it lives:
    /// when that node is gone and another serves, each replica sends again what it has not seen acknowledged (failover). A
    /// restarted primary keeps its address: its replicas find their link split and netjoin as before (netjoin.md §5).
    /// </summary>
    private void HandlePrimaryNodeRemoved(ClusterHostsWatcher.PrimaryNodeRemoved removed)
    {
        TellRoomsPrimaryNodeRemoved(removed);
        Timers.StartSingleTimer(removed, new PrimaryNodeRemovedAWhileAgo(removed), NetjoinAskedAgainAfterRemoval);
    }

    /// <summary>A room in step (linked, nothing unacknowledged) ignores it; one still waiting for its netjoin asks again.</summary>
    private void TellRoomsPrimaryNodeRemoved(ClusterHostsWatcher.PrimaryNodeRemoved removed)
    {
        if (_hosts.PrimaryNode is not { } primary || primary == removed.Node) return;
        foreach (var replica in _rooms.Values) replica.Tell(removed);
    }

    private sealed record PrimaryNodeRemovedAWhileAgo(ClusterHostsWatcher.PrimaryNodeRemoved Removed);

    public static Props Props(ClusterHosts hosts, IStanzaSink sink) => Akka.Actor.Props.Create(() => new ReplicaDirectory(hosts, sink));

    /// <summary>
    /// Only the node whose certificate lets it hold the primaries may speak for rooms; anything else claiming to
    /// is logged and dropped (docs/operations.md#security).
    /// </summary>
    private bool SentByPrimary(object message)
    {
        if (_hosts.IsPrimaryNode(Sender.Path.Address)) return true;
        Context.GetLogger().Warning("Refused {0} from {1}: it is not the primary node", message.GetType().Name, Sender.Path.Address);
        return false;
    }

    /// <summary>
    /// The primary takes nothing from a node the cluster does not name for its host: what this node's server hands it before then
    /// (a standby taking the host over, a node not yet in the cluster, and the stanzas the server hands again at such a start) waits
    /// here, in order, rather than being forwarded and refused without a word.
    /// </summary>
    private void HandleStanzaFromServer(RouteStanza route) =>
        Follow(_namingHold.Apply(_namingHold.Process(new StanzaFromOwnServer(route, IsNamedForOwnHost(), DateTimeOffset.UtcNow))));

    private void HandleNamingLook() => Follow(_namingHold.Apply(_namingHold.Process(new NamingLooked(IsNamedForOwnHost(), DateTimeOffset.UtcNow))));

    private bool IsNamedForOwnHost() => _hosts.OwnHostNode is { } named && named == (_self ??= Akka.Cluster.Cluster.Get(Context.System).SelfAddress);

    /// <summary>Routes what the naming hold lets go, answers what waited too long, and looks at the naming while anything waits.</summary>
    private void Follow(NamingOutcome outcome)
    {
        foreach (var route in outcome.ToRoute) Route(route);
        foreach (var refused in outcome.Refused)
        {
            ReplicaRoom.AnswerUnavailable(_sink, refused.Stanza, "this node does not serve its host in the cluster yet");
            refused.Receipt?.Settle();
        }
        if (outcome.Looking == NamingLook.Start) Timers.StartPeriodicTimer(LookForNaming.Instance, LookForNaming.Instance, NamingLookInterval);
        else if (outcome.Looking == NamingLook.Stop) Timers.Cancel(LookForNaming.Instance);
        if (_namingHold.Count > 0 || _primaryBehindNamingHold.Count == 0) return;
        foreach (var (message, sender) in _primaryBehindNamingHold) Self.Tell(message, sender);
        _primaryBehindNamingHold.Clear();
    }

    /// <summary>
    /// The primary's word for a room this node has no replica of yet waits while stanzas of this node's server for that room wait for
    /// the naming: those the server handed again (what the node's previous life served its users during a split, marked served) must
    /// reach the new replica first, or the primary's batch makes it relearn its users at once and the resync gives them those
    /// messages again (the chaos run of December 2026: argl-656 twice to argl and valdis). Let go, in order, once nothing waits.
    /// </summary>
    private bool WaitsBehindNamingHold(Jid room, object message)
    {
        if (_rooms.ContainsKey(room) || (!_namingHold.HoldsFor(room) && _primaryBehindNamingHold.Count == 0)) return false;
        _primaryBehindNamingHold.Add((message, Sender));
        return true;
    }

    private sealed class LookForNaming
    {
        public static readonly LookForNaming Instance = new();
    }

    private void Route(RouteStanza route)
    {
        if (Jid.TryParse(route.Stanza.Attribute("to")?.Value, out var to) && to.Local is not null)
        {
            // The server hands this node what its previous life did not acknowledge (it crashed, or a standby took the host over):
            // a room this node has no replica of yet was served through that life, so the new replica relearns it by a netjoin
            // first, as when the primary's batch is the first word (ReplicaSync.MustRelearn), and the stanza waits for it.
            if (route.Receipt?.Resent == true && !_rooms.ContainsKey(to.Bare) && _hosts.OwnHost is { } ownHost)
                ReplicaFor(to.Bare).Tell(new RequestNetjoin(to.Bare, ownHost));
            ReplicaFor(to.Bare).Forward(route);
        }
        else
        {
            // A question to the service (disco, the room list) changes nothing: it is settled once handed on or refused.
            ReplicaRoom.ForwardToPrimary(Context, route.Stanza, _hosts, _sink, Self);
            route.Receipt?.Settle();
        }
    }

    /// <summary>
    /// A ping for a room we have no replica of is answered here: starting one only to answer would waste it, unless the room had
    /// this host's users through an earlier life of this node (it restarted) or another node (this one took the host over as its
    /// standby): its link sent this host batches, or the room recovered them from its journal. A new replica then netjoins before it
    /// takes any batch, relearning those users, and the primary removes those who did not stay (<see cref="ReplicaSync.MustRelearn"/>,
    /// docs/protocol/netjoin.md §5); a batch reaches the replica, started if need be, which decides the same.
    /// </summary>
    private void HandlePingFromPrimary(KeepalivePing ping)
    {
        if (_rooms.ContainsKey(ping.Room) || (ping.Room.Local is not null && (ping.LastSentSequence > 0 || ping.UsersBeforeLink)))
            ReplicaFor(ping.Room).Forward(ping);
        else Sender.Tell(new KeepalivePong(ping.Room, ping.ReplicaHost, ping.Id));
    }

    private IActorRef ReplicaFor(Jid room)
    {
        if (_rooms.TryGetValue(room, out var replica)) return replica;
        replica = Context.ActorOf(ReplicaRoom.Props(room, _hosts, _sink), Uri.EscapeDataString(room.ToString()));
        _rooms[room] = replica;
        return replica;
    }

    private void HandleShutdown()
    {
        var replicas = _rooms.Values.ToList();
        var answers = replicas.Select(replica => replica.Ask<Done>(ShutDownRooms.Instance, TimeSpan.FromSeconds(10)));
        Task.WhenAll(answers).ContinueWith(_ => new RoomsShutDown(replicas.Count)).PipeTo(Sender);
    }

    public sealed class ListReplicas
    {
        public static readonly ListReplicas Instance = new();
    }

    public sealed record ReplicaList(IReadOnlyList<Jid> Rooms);
}

public static class ReplicaDirectoryHosting
{
    /// <summary>Starts the replica directory at /user/replicas (every node has one: batches arrive there).</summary>
    public static AkkaConfigurationBuilder AddReplicaDirectory(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry, resolver) =>
            registry.Register<ReplicaDirectory>(system.ActorOf(
                ReplicaDirectory.Props(resolver.GetService<ClusterHosts>(), resolver.GetService<IStanzaSink>()),
                ReplicaDirectory.Name)));
}
