using System.Xml.Linq;
using Akka;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Dmuc.Actors.Component;
using Dmuc.Actors.Persistence;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// Routes each stanza from the XMPP server to its room by the bare <c>to</c>, and answers what is addressed to the
/// service itself. With <see cref="RoomPlacement.Local"/> it is the parent of the node's room actors and stops idle rooms
/// safely (a room being stopped keeps its mail until it is gone and is then started afresh from the journal); with
/// <see cref="RoomPlacement.Sharded"/> rooms are entities of the cluster's <c>room</c> shard region, which places them on
/// a primary-capable node and passivates them.
/// </summary>
public sealed class RoomDirectory : ReceiveActor, IWithTimers
{
    public const string Name = "rooms";

    private readonly MucServiceOptions _options;
    private readonly IStanzaSink _sink;
    private readonly ClusterHosts _hosts;
    private readonly RoomActorSettings _settings;
    private readonly RoomPlacement _placement;
    // The shard region of RoomPlacement.Sharded, started with this directory; null for local rooms.
    private IActorRef? _region;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<Jid, IActorRef> _rooms = new();
    private readonly Dictionary<Jid, List<(object Message, IActorRef Sender)>> _mailForStoppingRooms = new();
    private readonly Dictionary<Jid, RoomListingChanged> _listings = new();
    // Both in JID order for paging; rebuilt on the next listing after a room appears, goes or changes visibility.
    private List<Jid>? _roomsInOrder;
    private List<Jid>? _publicRoomsInOrder;
    private static readonly IReadOnlyDictionary<Jid, string> NoSessions = new Dictionary<Jid, string>();
    private readonly Jid _serviceJid;
    private readonly RoomCreationQuota _creations;
    // Local rooms only: a sharded room answers from whichever node holds it, which may die before it does.
    private readonly RoomCreationBurst<(object Message, IActorRef Sender)> _creationBurst = new(MostCreationsUnderWay, MostStanzasWaitingForCreation);
    // Enough to keep the journal busy (a creation is written within tens of milliseconds), few enough that the writes they
    // bring (creation, configuration, the owner leaving: about three each) wait in the journal's queue far less than its
    // call timeout even when SQLite slows tenfold on a loaded machine: with 100, twice in three 100,000-room runs every
    // write in flight timed out at once; the waiting stanzas are a few MB at most.
    private const int MostCreationsUnderWay = 32;
    private const int MostStanzasWaitingForCreation = 10_000;
    private readonly IActorRef _index;
    /// <summary>
    /// How long a replica node's message waits for the cluster to name its node: a restarted primary names its replicas about
    /// a second after it rejoined (gossip, then each node's certificate proof, asked again every second).
    /// </summary>
    private static readonly TimeSpan NamingWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan NamingLookInterval = TimeSpan.FromMilliseconds(100);
    // A few seconds of one replica's traffic at a busy room's pace; each is one stanza or a small protocol message.
    private const int MostAwaitingNamingPerNode = 10_000;
    private readonly ReplicaMailAwaitingNaming<AwaitingNaming> _awaitingNaming = new(NamingWait, MostAwaitingNamingPerNode);
    // Until the index has recovered, a listing would leave out the rooms nobody entered since the start.
    private List<RouteStanza>? _serviceStanzasBeforeIndex = [];

    public RoomDirectory(MucServiceOptions options, IStanzaSink sink, ClusterHosts hosts, RoomActorSettings settings, RoomPlacement placement)
    {
        _options = options;
        _placement = placement;
        _sink = sink;
        _hosts = hosts;
        _settings = settings;
        _serviceJid = Jid.Parse(options.ServiceDomain);
        _creations = new RoomCreationQuota(options);
        _index = placement == RoomPlacement.Sharded ? RoomShards.StartIndex(Context, _serviceJid)
            : Context.ActorOf(RoomIndexSupervisor.Props(_serviceJid), "index");
        _index.Tell(ListIndexedRooms.Instance);

        Receive<RouteStanza>(HandleStanzaFromServer);
        Receive<ForwardedStanza>(forwarded => FromReplicaNode(forwarded.ReplicaHost, forwarded, _ => HandleStanzaFromReplica(forwarded)));
        Receive<SendFromService>(send => Send(send.Deliveries));
        Receive<EnterRefused>(refused => FromReplicaNode(refused.ReplicaHost, refused, sender => TellRoom(refused.Room, refused, sender)));
        Receive<ServerBehind>(behind => FromReplicaNode(behind.ReplicaHost, behind, sender => TellRoom(behind.Room, behind, sender)));
        Receive<KeepalivePing>(ping => FromReplicaNode(ping.ReplicaHost, ping, sender => HandlePingFromReplica(ping, sender)));
        Receive<ResyncReplica>(resync => FromReplicaNode(resync.ReplicaHost, resync, sender => HandleNetjoin(resync, sender)));
        Receive<DeliveryReceipt>(receipt => receipt.Room.Local is not null,
            receipt => FromReplicaNode(receipt.ReplicaHost, receipt, sender => TellRoom(receipt.Room, receipt, sender)));
        Receive<LookForNaming>(_ => ServeNamedReplicaMail());
        Receive<RoomListingChanged>(HandleListingChanged);
        Receive<RoomIndexRecovered>(HandleIndexRecovered);
        // The journal could not be read at start: list what the rooms themselves report rather than never answer.
        Receive<RoomIndexUnavailable>(_ =>
        {
            if (_serviceStanzasBeforeIndex is not null) HandleIndexRecovered(new RoomIndexRecovered([], OccupiedRooms: null));
        });
        Receive<RoomCreationSettled>(settled =>
        {
            _creations.Settled(settled.Room, settled.Created);
            HandOn(_creationBurst.Settled(settled.Room));
        });
        Receive<RoomIdle>(HandleRoomIdle);
        Receive<RoomBusyAgain>(HandleRoomBusyAgain);
        Receive<Terminated>(HandleRoomStopped);
        Receive<ShutDownRooms>(_ => HandleShutdown());
        Receive<RoomsStopped>(HandleRoomsStopped);
        Receive<RecoverRoom>(HandleRecoverRoom);
        Receive<Done>(_ => _index.Tell(RoomIndex.TrackOccupancy.Instance));
        Receive<Status.Failure>(failure => _log.Warning("Rooms were not all recovered at start: {0}", failure.Cause.Message));
        Receive<CheckOccupants>(check => WithRoomsHere(rooms =>
        {
            foreach (var room in rooms) TellRoom(room, check, Self);
        }));
        Receive<RoomsHere>(here => here.Then(here.Rooms));
        Receive<InspectRoom>(inspect => TellRoom(inspect.Room, inspect, Sender));
        Receive<KickOccupantAsAdmin>(kick => TellRoom(kick.Room, kick, Sender));
        Receive<DestroyRoomAsAdmin>(destroy => TellRoom(destroy.Room, destroy, Sender));
        Receive<ListRooms>(HandleListRooms);
        Receive<ListOccupiedRooms>(_ => Sender.Tell(new RoomList(_listings.Values.Where(l => l.Occupants > 0).ToList(), Total: null, NodeAddress)));
        Receive<DeadLetter>(IsUserStanzaForOneOfOurRooms, HandleStanzaLostWithItsRoom);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));
        if (_placement == RoomPlacement.Sharded) _region = RoomShards.StartRegion(Context.System, Self, _options, _sink, _hosts, _settings);
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private bool IsUserStanzaForOneOfOurRooms(DeadLetter letter) =>
        letter.Message is RouteStanza { Relayed: null } && letter.Recipient.Path.Parent.Equals(Self.Path);

    /// <summary>
    /// A room that stops unexpectedly (its journal failed to recover it or to write) leaves the stanzas still in its
    /// mailbox to dead letters: each sender is told, so that no stanza goes unanswered. Relayed stanzas are left to
    /// the replica's acknowledged forwards, which resend what was not acknowledged.
    /// </summary>
    private void HandleStanzaLostWithItsRoom(DeadLetter letter)
    {
        var route = (RouteStanza)letter.Message;
        _log.Warning("Room {0} stopped before it took a stanza; its sender is told to try again", letter.Recipient.Path.Name);
        ReplyError(route.Stanza, StanzaErrorCondition.InternalServerError,
            "The room stopped before it could take this stanza (its storage failed); try again", type: "wait");
        route.Receipt?.Settle();
    }

    /// <summary>
    /// Every room in the journal is started once, recovers, checks its occupants (<see cref="RoomActor"/>) and reports
    /// itself to the index; rooms with nobody in them stop again when idle. Only for a journal whose index predates
    /// occupancy tracking: otherwise the index names the rooms to check (<see cref="HandleIndexRecovered"/>).
    /// </summary>
    private void RecoverRooms()
    {
        var self = Self;
        try
        {
            PersistenceQuery.Get(Context.System).ReadJournalFor<SqlReadJournal>("akka.persistence.query.journal.sql")
                .CurrentPersistenceIds()
                .RunForeach(id => self.Tell(new RecoverRoom(id)), Context.System.Materializer())
                .ContinueWith(done => done.Exception is { } error
                    ? (object)new Status.Failure(error.GetBaseException()) : Done.Instance, TaskScheduler.Default)
                .PipeTo(self);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // A journal without a query side (tests with the in-memory journal) has nothing to recover.
            _log.Debug("Rooms are not recovered at start: {0}", error.Message);
        }
    }

    private void HandleRecoverRoom(RecoverRoom recover)
    {
        if (!recover.PersistenceId.StartsWith(RoomActor.PersistenceIdPrefix, StringComparison.Ordinal)
            || !Jid.TryParse(recover.PersistenceId[RoomActor.PersistenceIdPrefix.Length..], out var room) || _mailForStoppingRooms.ContainsKey(room))
            return;
        StartRoom(room);
    }

    public static Props Props(MucServiceOptions options, IStanzaSink sink, ClusterHosts hosts, RoomActorSettings settings,
        RoomPlacement placement = RoomPlacement.Local) =>
        Akka.Actor.Props.Create(() => new RoomDirectory(options, sink, hosts, settings, placement));

    /// <summary>The room directory of the node at <paramref name="node"/>, where replicas send what their users send.</summary>
    public static ActorSelection At(IActorRefFactory factory, Address node) =>
        factory.ActorSelection(new RootActorPath(node) / "user" / Name);

    /// <summary>
    /// A replica's message counts only when it comes from the node whose certificate vouches for the host it names
    /// (docs/operations.md#security). Until the cluster names the node for it (a restarted primary hears its replicas before
    /// gossip and their proof name them), the message waits in <see cref="ReplicaMailAwaitingNaming{T}"/>, behind what the
    /// node sent before; it is dropped, unanswered and logged, only past that wait's bounds.
    /// </summary>
    private void FromReplicaNode(string replicaHost, object message, Action<IActorRef> serve)
    {
        var node = Sender.Path.Address;
        if (_awaitingNaming.Count > 0) ServeNamedReplicaMail();
        if (_awaitingNaming.ServesNow(node, replicaHost, _hosts.SpeaksFor(node, replicaHost)))
        {
            serve(Sender);
            return;
        }
        var sender = Sender;
        var what = $"{message.GetType().Name} from {node}";
        if (!_awaitingNaming.Hold(node, replicaHost, new AwaitingNaming(what, replicaHost, () => serve(sender)), DateTimeOffset.UtcNow))
        {
            _log.Warning("Refused {0}: it is not the node that serves {1}, and {2} of its messages wait already for the cluster to name it",
                what, replicaHost, _awaitingNaming.CountOf(node));
            return;
        }
        if (_awaitingNaming.Count == 1) Timers.StartPeriodicTimer(LookForNaming.Instance, LookForNaming.Instance, NamingLookInterval);
    }

    private void ServeNamedReplicaMail()
    {
        var (named, expired) = _awaitingNaming.Release(_hosts.SpeaksFor, DateTimeOffset.UtcNow);
        foreach (var dropped in expired)
            _log.Warning("Refused {0}: it is not the node that serves {1} (not named for it within {2})", dropped.What, dropped.Host, NamingWait);
        foreach (var waited in named) waited.Serve();
        if (_awaitingNaming.Count == 0) Timers.Cancel(LookForNaming.Instance);
    }

    /// <summary>A replica node's message waiting to be served once the cluster names the node for <paramref name="Host"/>.</summary>
    private sealed record AwaitingNaming(string What, string Host, Action Serve);

    private sealed class LookForNaming
    {
        public static readonly LookForNaming Instance = new();
    }

    /// <summary>
    /// A replica relays its local users' stanzas unchanged (XEP-0282 §4.8). It may only speak for users of its
    /// own XMPP host: anything else is dropped, since answering would mean writing to an address nobody vouched for.
    /// </summary>
    private void HandleStanzaFromReplica(ForwardedStanza forwarded)
    {
        if (!Jid.TryParse(forwarded.Stanza.Attribute("from")?.Value, out var from) || from.Domain != forwarded.ReplicaHost)
        {
            _log.Warning("Refused a stanza relayed by replica {0} for {1}: a replica speaks only for its own host's users",
                forwarded.ReplicaHost, forwarded.Stanza.Attribute("from")?.Value ?? "(no sender)");
            return;
        }
        HandleStanzaFromServer(new RouteStanza(forwarded.Stanza,
            Relayed: forwarded.Number is { } number ? new RelayedBy(forwarded.ReplicaHost, number, forwarded.Resent) : null));
    }

    /// <summary>Replicas ping their rooms; the service's own address has no room to answer for it.</summary>
    private void HandlePingFromReplica(KeepalivePing ping, IActorRef replica)
    {
        if (ping.Room.Local is null) replica.Tell(new KeepalivePong(ping.Room, ping.ReplicaHost, ping.Id));
        else TellRoom(ping.Room, ping, replica);
    }

    private void HandleNetjoin(ResyncReplica resync, IActorRef replica)
    {
        if (resync.Room.Local is null || !resync.Room.Domain.Equals(_options.ServiceDomain, StringComparison.Ordinal))
        {
            _log.Warning("Ignored a netjoin from {0} for {1}, which is not a room of this service", resync.ReplicaHost, resync.Room);
            return;
        }
        TellRoom(resync.Room, resync, replica);
    }

    /// <summary>What the server sends: handed to its room, or answered here (and then settled: its outcome is sent).</summary>
    private void HandleStanzaFromServer(RouteStanza route)
    {
        if (!HandedToRoom(route)) route.Receipt?.Settle();
    }

    /// <returns>Whether the stanza went on to its room (which settles it), or waits here for the index.</returns>
    private bool HandedToRoom(RouteStanza route)
    {
        var stanza = route.Stanza;
        if (!Jid.TryParse(stanza.Attribute("to")?.Value, out var to) || to.Domain != _options.ServiceDomain)
        {
            ReplyError(stanza, StanzaErrorCondition.JidMalformed, "the recipient is not an address of this service");
            return false;
        }
        if (!Jid.TryParse(stanza.Attribute("from")?.Value, out var from))
        {
            ReplyError(stanza, StanzaErrorCondition.JidMalformed, "the sender address is missing or malformed");
            return false;
        }
        if (_options.IsServiceAddress(from))
        {
            // Only this service speaks for its addresses, and it never sends to itself: such a stanza is a loop or a
            // forgery, not a user. It is not answered either, since the answer would come straight back here.
            _log.Warning("Refused a stanza from this service's own address {0}: {1}", from, stanza.ToString(SaveOptions.DisableFormatting));
            return false;
        }
        if (to.Local is null)
        {
            if (_serviceStanzasBeforeIndex is not null)
            {
                _serviceStanzasBeforeIndex.Add(route);
                return true;
            }
            HandleStanzaToService(stanza);
            return false;
        }
        TellRoom(to.Bare, WithRoomCreationQuota(route, from, to), Self);
        return true;
    }

    /// <summary>
    /// A presence that would create its room, if this directory does not know that room, is counted against its
    /// sender's room quota here, where every room of the service is seen: the room learns only whether it may create.
    /// </summary>
    private RouteStanza WithRoomCreationQuota(RouteStanza route, Jid from, Jid to)
    {
        var room = to.Bare;
        if (to.Resource is null || !RoomCreationQuota.IsCreationRequest(route.Stanza)
            || _listings.GetValueOrDefault(room)?.Exists == true || _creations.IsCounted(room))
            return route;
        var denied = _creations.Reserve(from, room, DateTimeOffset.UtcNow);
        return route with { CreationDenied = denied, CreationReserved = denied is null };
    }

    /// <summary>
    /// Every message for a room goes through here, so that none reaches a room that is stopping, nor one whose creation waits
    /// for others under way to be written (<see cref="RoomCreationBurst{T}"/>).
    /// </summary>
    private void TellRoom(Jid room, object message, IActorRef sender)
    {
        if (_region is not null)
        {
            _region.Tell(new ShardingEnvelope(room.ToString(), message), sender);
            return;
        }
        switch (_creationBurst.Admit(room, (message, sender), createsRoom: message is RouteStanza { CreationReserved: true }))
        {
            case CreationAdmission.Pass:
                TellLocalRoom(room, message, sender);
                break;
            case CreationAdmission.Refused:
                RefuseWhileCreationsWait(room, message);
                break;
        }
    }

    private void HandOn(IReadOnlyList<(Jid Room, (object Message, IActorRef Sender) Held)> released)
    {
        foreach (var (room, (message, sender)) in released) TellLocalRoom(room, message, sender);
    }

    private void RefuseWhileCreationsWait(Jid room, object message)
    {
        _log.Warning("Refused a message for {0}: {1} room creations are under way and {2} stanzas wait for them", room,
            _creationBurst.UnderWay, _creationBurst.Waiting);
        if (message is not RouteStanza route) return;
        if (route.CreationReserved) _creations.Settled(room, created: false);
        ReplyError(route.Stanza, StanzaErrorCondition.ResourceConstraint,
            "The service is creating many rooms at once; try again in a moment", type: "wait");
        route.Receipt?.Settle();
    }

    private void TellLocalRoom(Jid room, object message, IActorRef sender)
    {
        if (_mailForStoppingRooms.TryGetValue(room, out var mail))
            mail.Add((message, sender));
        else
            RoomFor(room).Tell(message, sender);
    }

    private void HandleStanzaToService(XElement stanza)
    {
        if (AdminDestroyCommand.Matches(stanza))
        {
            HandleAdminDestroy(stanza);
            return;
        }
        _publicRoomsInOrder ??= InJidOrder(_listings.Values.Where(listing => listing.IsPublic));
        var listings = _listings;
        var publicRooms = new ProjectedList<Jid, RoomListing>(_publicRoomsInOrder,
            room => new RoomListing(room, listings[room].Name, listings[room].Occupants));
        Send(MucService.HandleServiceStanza(stanza, publicRooms, _options));
    }

    /// <summary>One page of every room of the service, in JID order, for the management API.</summary>
    /// <remarks>With rooms sharded, each room's node is where sharding placed its shard, and only this node's are known to be active.</remarks>
    private void HandleListRooms(ListRooms list)
    {
        _roomsInOrder ??= InJidOrder(_listings.Values);
        var page = RoomPages.Select(_roomsInOrder, room => room.ToString(), new ResultSetRequest(list.Limit, list.After, null, false, null), list.Limit);
        var listed = new RoomList(page.Items.Select(room => _listings[room]).ToList(), page.Count, NodeAddress,
            page.Items.Where(_rooms.ContainsKey).ToHashSet(), page.HasMore);
        if (_region is null)
        {
            Sender.Tell(listed);
            return;
        }
        RoomShards.PlacementOf(_region, page.Items).PipeTo(Sender, success: placed => listed with
        {
            Active = placed.Here.ToHashSet(),
            PlacedOn = placed.Nodes,
        });
    }

    /// <summary>This directory's node: where its local rooms live, and where it takes sharded rooms' listings from.</summary>
    private Address NodeAddress => ((ExtendedActorSystem)Context.System).Provider.DefaultAddress;

    private static List<Jid> InJidOrder(IEnumerable<RoomListingChanged> listings) =>
        listings.Select(listing => listing.Room).OrderBy(room => room.ToString(), StringComparer.Ordinal).ToList();

    private void HandleAdminDestroy(XElement stanza)
    {
        var rooms = AdminDestroyCommand.RoomsToDestroy(stanza, _options, out var reply);
        if (reply is not null)
        {
            Send([reply]);
            return;
        }
        var answers = rooms.Select(room => AskRoom<AdminDestroyDone>(room, new DestroyRoomAsAdmin(room, null)));
        var options = _options;
        Task.WhenAll(answers).ContinueWith(done =>
        {
            var destroyed = done.IsCompletedSuccessfully ? done.Result.Where(a => a.Destroyed).Select(a => a.Room) : [];
            return new SendFromService([AdminDestroyCommand.Completed(stanza, options, destroyed)]);
        }, TaskScheduler.Default).PipeTo(Self);
    }

    private void ReplyError(XElement stanza, StanzaErrorCondition condition, string text, string? type = null)
    {
        // Errors are never answered with errors (RFC 6120 §8.1.2), and without a sender there is no one to tell.
        if (stanza.Attribute("type")?.Value == "error" || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from))
        {
            _log.Warning("Dropped a stanza that cannot be answered: {0}", stanza.ToString(SaveOptions.DisableFormatting));
            return;
        }
        var reply = StanzaError.Reply(stanza, condition, text, type);
        reply.Attribute("to")?.Remove();
        Send([new Delivery(from, reply)]);
    }

    private Task<T> AskRoom<T>(Jid room, object question)
    {
        var answer = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var asker = Context.ActorOf(Akka.Actor.Props.Create(() => new OneAnswer<T>(answer, TimeSpan.FromSeconds(10))));
        TellRoom(room, question, asker);
        return answer.Task;
    }

    /// <summary>
    /// What the service itself answers (disco, errors, admin commands) reaches users of replica hosts the way
    /// room traffic does: through a replica link, here one per host for the service's own address.
    /// </summary>
    private void Send(IReadOnlyList<Delivery> deliveries)
    {
        var plan = ReplicationPlanner.Split(deliveries, host => _hosts.ReplicaNodeFor(host) is not null,
            _serviceJid, NoSessions, NoSessions, command: null, acceptedAt: null);
        ReplicaLink.Dispatch(Context, _serviceJid, new Outgoing(plan), _sink, _hosts);
    }

    /// <summary>Loads a room that nobody addressed yet (to check its occupants), wherever its placement puts it.</summary>
    private void StartRoom(Jid room)
    {
        if (_region is not null) _region.Tell(new ShardRegion.StartEntity(room.ToString()));
        else RoomFor(room);
    }

    /// <summary>
    /// Runs <paramref name="then"/> on this directory's thread with the rooms in memory on this node: its children, or the
    /// entities of its shard region here (asked of the region, so a little later).
    /// </summary>
    private void WithRoomsHere(Action<IReadOnlyList<Jid>> then)
    {
        if (_region is null)
        {
            then(_rooms.Keys.ToList());
            return;
        }
        RoomShards.RoomsHere(_region).ContinueWith(here => new RoomsHere(here.IsCompletedSuccessfully ? here.Result : [], then),
            TaskScheduler.Default).PipeTo(Self);
    }

    private IActorRef RoomFor(Jid room)
    {
        if (_rooms.TryGetValue(room, out var actor)) return actor;
        actor = Context.ActorOf(RoomActor.Props(room, _options, _sink, _hosts, _settings, Self, RoomPlacement.Local), ActorNameFor(room));
        Context.Watch(actor);
        _rooms[room] = actor;
        return actor;
    }

    private static string ActorNameFor(Jid room) => Uri.EscapeDataString(room.ToString());

    private void HandleListingChanged(RoomListingChanged listing)
    {
        // A room of this node: the index and the other primary-capable nodes' directories hear of it from here.
        if (Sender.Path.Address.HasLocalScope)
        {
            _index.Tell(listing);
            if (_region is not null)
                foreach (var peer in _hosts.PrimaryNodes.Where(node => node != NodeAddress))
                    At(Context, peer).Tell(listing);
        }
        var before = _listings.GetValueOrDefault(listing.Room);
        if (listing.Exists)
        {
            if (before is null) _log.Info("Room {Room} is open ({Occupants} occupants)", listing.Room, listing.Occupants);
            _listings[listing.Room] = listing;
        }
        else if (_listings.Remove(listing.Room))
        {
            _log.Info("Room {Room} was destroyed", listing.Room);
            _creations.Gone(listing.Room);
        }
        var after = _listings.GetValueOrDefault(listing.Room);
        if ((before is null) != (after is null)) _roomsInOrder = null;
        if ((before?.IsPublic == true) != (after?.IsPublic == true)) _publicRoomsInOrder = null;
    }

    /// <summary>
    /// Persistent rooms are listed from the index until they are loaded, which then report themselves. Occupants are
    /// durable, so after a crash of this node the rooms that had occupants may hold some whose sessions ended meanwhile:
    /// those rooms (and only those) are started now to ask (<see cref="RoomActor"/>), so that a room nobody writes to
    /// does not keep its ghosts, while start-up does not grow with idle rooms. Started once the index is back, so that
    /// listing comes first.
    /// </summary>
    private void HandleIndexRecovered(RoomIndexRecovered recovered)
    {
        foreach (var room in recovered.Rooms)
        {
            var jid = Jid.Parse(room.Room);
            _listings.TryAdd(jid, new RoomListingChanged(jid, room.Name, Occupants: 0, room.IsPublic, Exists: true, IsPersistent: true));
        }
        (_roomsInOrder, _publicRoomsInOrder) = (null, null);
        _log.Info("Listed {0} persistent rooms from the room index", recovered.Rooms.Count);
        if (_serviceStanzasBeforeIndex is not { } waiting) return;
        _serviceStanzasBeforeIndex = null;
        if (_region is not null)
        {
            // Sharding's remember-entities starts the rooms that had occupants, wherever their shards are placed.
        }
        else if (recovered.OccupiedRooms is { } occupied)
        {
            _log.Info("Checking the occupants of the {0} rooms that had some when the node stopped", occupied.Count);
            foreach (var room in occupied)
                if (Jid.TryParse(room, out var jid)) StartRoom(jid);
        }
        else
        {
            RecoverRooms();
        }
        foreach (var route in waiting) HandleStanzaFromServer(route);
    }

    private void HandleRoomIdle(RoomIdle idle)
    {
        if (!_rooms.TryGetValue(idle.Room, out var actor) || !Equals(actor, Sender) || _mailForStoppingRooms.ContainsKey(idle.Room))
            return;
        // Not Context.Stop: that overtakes stanzas already in the room's mailbox (a join, say), which would be lost.
        _mailForStoppingRooms[idle.Room] = [];
        actor.Tell(StopIfIdle.Instance);
    }

    private void HandleRoomBusyAgain(RoomBusyAgain busy)
    {
        if (!_rooms.TryGetValue(busy.Room, out var actor) || !Equals(actor, Sender)) return;
        if (!_mailForStoppingRooms.Remove(busy.Room, out var mail)) return;
        foreach (var (message, sender) in mail)
            actor.Tell(message, sender);
    }

    private void HandleRoomStopped(Terminated terminated)
    {
        var room = _rooms.FirstOrDefault(pair => Equals(pair.Value, terminated.ActorRef)).Key;
        if (room is null) return;
        _rooms.Remove(room);
        // A room that stopped with its creation unwritten will not settle it.
        HandOn(_creationBurst.Settled(room));
        if (!_mailForStoppingRooms.Remove(room, out var mail))
        {
            _log.Warning("Room {0} stopped unexpectedly; it restarts from its journal on the next stanza", room);
            return;
        }
        foreach (var (message, sender) in mail)
            RoomFor(room).Tell(message, sender);
    }

    /// <summary>
    /// The node is stopping. Its rooms tell their occupants the service is going (332), unless they are sharded and another
    /// primary node is in view: then stopping is a drain, and sharding hands their shards over (each room stops once its
    /// writes are done and starts on another node with its occupants, who stay).
    /// </summary>
    private void HandleShutdown()
    {
        var replyTo = Sender;
        if (_region is not null && _hosts.PrimaryNodes.Any(node => node != NodeAddress))
        {
            _log.Info("Stopping with other primary nodes in the cluster: the rooms move to them, their occupants stay");
            replyTo.Tell(new RoomsShutDown(0));
            return;
        }
        WithRoomsHere(rooms =>
        {
            var answers = rooms.Select(room => AskRoom<Done>(room, ShutDownRooms.Instance));
            Task.WhenAll(answers).ContinueWith(_ => new RoomsStopped(rooms.Count, replyTo), TaskScheduler.Default).PipeTo(Self);
        });
    }

    /// <summary>
    /// The rooms' last listings (now empty) reached this directory before their answers did: once the index has written
    /// them, the next start loads none of these rooms.
    /// </summary>
    private void HandleRoomsStopped(RoomsStopped stopped)
    {
        // With rooms sharded the index is not this node's, and remember-entities, not its occupancy, decides what starts.
        if (stopped.Rooms == 0 || _region is not null)
        {
            stopped.ReplyTo.Tell(new RoomsShutDown(0));
            return;
        }
        _index.Ask<Done>(RoomIndex.FlushRoomIndex.Instance, TimeSpan.FromSeconds(5))
            .ContinueWith(_ => new RoomsShutDown(stopped.Rooms), TaskScheduler.Default)
            .PipeTo(stopped.ReplyTo);
    }
}

/// <summary>Waits for one answer of type <typeparamref name="T"/> and completes a task with it (an Ask that can sit in a mail queue).</summary>
internal sealed class OneAnswer<T> : ReceiveActor
{
    public OneAnswer(TaskCompletionSource<T> answer, TimeSpan timeout)
    {
        Context.SetReceiveTimeout(timeout);
        Receive<T>(value =>
        {
            answer.TrySetResult(value);
            Context.Stop(Self);
        });
        Receive<ReceiveTimeout>(_ =>
        {
            answer.TrySetException(new TimeoutException($"no {typeof(T).Name} within {timeout}"));
            Context.Stop(Self);
        });
    }
}

internal sealed record SendFromService(IReadOnlyList<Delivery> Deliveries);

/// <summary>The rooms in memory on this node, for what the directory does with them next.</summary>
internal sealed record RoomsHere(IReadOnlyList<Jid> Rooms, Action<IReadOnlyList<Jid>> Then);

/// <summary>A room found in the journal at start, to recover (and check its occupants).</summary>
internal sealed record RecoverRoom(string PersistenceId);

/// <summary>Every room answered the shutdown (or timed out); <paramref name="ReplyTo"/> waits for <see cref="RoomsShutDown"/>.</summary>
internal sealed record RoomsStopped(int Rooms, IActorRef ReplyTo);

/// <summary>Asks the directory for a page of the rooms it knows, in JID order; answered with <see cref="RoomList"/>.</summary>
/// <param name="After">The page starts after this room JID (which need not exist any more); null: at the first room.</param>
public sealed record ListRooms(string? After, int Limit);

/// <summary>Asks the directory for the rooms that have occupants; answered with <see cref="RoomList"/>.</summary>
public sealed record ListOccupiedRooms
{
    public static readonly ListOccupiedRooms Instance = new();
}

/// <param name="Total">How many rooms the whole list has, for a page of it.</param>
/// <param name="Node">The node where these rooms live.</param>
/// <param name="Active">Those of the rooms that are in memory now (not known for occupied rooms: all of them are).</param>
/// <param name="HasMore">More rooms follow this page.</param>
public sealed record RoomList(IReadOnlyList<RoomListingChanged> Rooms, int? Total, Address Node, IReadOnlySet<Jid>? Active = null,
    bool HasMore = false)
{
    /// <summary>With rooms sharded: the node each room's shard is placed on now (none for a shard not placed yet).</summary>
    public IReadOnlyDictionary<Jid, Address>? PlacedOn { get; init; }
}

/// <summary>A read-only view of a list through a projection, so a page of it is projected and not the whole list.</summary>
internal sealed class ProjectedList<TSource, T>(IReadOnlyList<TSource> source, Func<TSource, T> project) : IReadOnlyList<T>
{
    public T this[int index] => project(source[index]);
    public int Count => source.Count;
    public IEnumerator<T> GetEnumerator() => source.Select(project).GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

public static class RoomDirectoryHosting
{
    /// <summary>Starts the node's room directory and registers it as <see cref="RoomDirectory"/>.</summary>
    public static AkkaConfigurationBuilder AddRoomDirectory(this AkkaConfigurationBuilder builder,
        MucServiceOptions options, RoomActorSettings settings, RoomPlacement placement)
    {
        if (placement == RoomPlacement.Sharded) builder.AddHocon(RoomShards.Hocon, HoconAddMode.Prepend);
        builder.AddJournalWarmup();
        return builder.WithActors((system, registry, resolver) =>
        {
            var sink = resolver.GetService<IStanzaSink>();
            var hosts = resolver.GetService<ClusterHosts>();
            registry.Register<RoomDirectory>(system.ActorOf(RoomDirectory.Props(options, sink, hosts, settings, placement), RoomDirectory.Name));
        });
    }
}
