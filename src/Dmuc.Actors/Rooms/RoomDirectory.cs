using System.Xml.Linq;
using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// Parent of the node's room actors: routes each stanza from the XMPP server to its room by the bare
/// <c>to</c>, answers what is addressed to the service itself, and stops idle rooms safely (a room being
/// stopped keeps its mail until it is gone and is then started afresh from the journal).
/// </summary>
public sealed class RoomDirectory : ReceiveActor
{
    public const string Name = "rooms";

    private readonly MucServiceOptions _options;
    private readonly IStanzaSink _sink;
    private readonly ClusterHosts _hosts;
    private readonly RoomActorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<Jid, IActorRef> _rooms = new();
    private readonly Dictionary<Jid, List<(object Message, IActorRef Sender)>> _mailForStoppingRooms = new();
    private readonly Dictionary<Jid, RoomListingChanged> _listings = new();
    private static readonly IReadOnlyDictionary<Jid, string> NoSessions = new Dictionary<Jid, string>();
    private readonly Jid _serviceJid;
    private readonly RoomCreationQuota _creations;
    private readonly IActorRef _index;
    // Until the index has recovered, a listing would leave out the rooms nobody entered since the start.
    private List<XElement>? _serviceStanzasBeforeIndex = [];

    public RoomDirectory(MucServiceOptions options, IStanzaSink sink, ClusterHosts hosts, RoomActorSettings settings)
    {
        _options = options;
        _sink = sink;
        _hosts = hosts;
        _settings = settings;
        _serviceJid = Jid.Parse(options.ServiceDomain);
        _creations = new RoomCreationQuota(options);
        _index = Context.ActorOf(RoomIndex.Props(_serviceJid), "index");
        Context.Watch(_index);

        Receive<RouteStanza>(HandleStanzaFromServer);
        Receive<ForwardedStanza>(forwarded => SentByNodeOf(forwarded.ReplicaHost, forwarded), HandleStanzaFromReplica);
        Receive<SendFromService>(send => Send(send.Deliveries));
        Receive<EnterRefused>(refused => SentByNodeOf(refused.ReplicaHost, refused), refused => TellRoom(refused.Room, refused, Sender));
        Receive<KeepalivePing>(ping => SentByNodeOf(ping.ReplicaHost, ping), HandlePingFromReplica);
        Receive<ResyncReplica>(resync => SentByNodeOf(resync.ReplicaHost, resync), HandleNetjoin);
        Receive<RoomListingChanged>(HandleListingChanged);
        Receive<RoomIndexRecovered>(HandleIndexRecovered);
        Receive<RoomCreationSettled>(settled => _creations.Settled(settled.Room, settled.Created));
        Receive<RoomIdle>(HandleRoomIdle);
        Receive<RoomBusyAgain>(HandleRoomBusyAgain);
        Receive<Terminated>(HandleRoomStopped);
        Receive<ShutDownRooms>(_ => HandleShutdown());
        Receive<RecoverRoom>(HandleRecoverRoom);
        Receive<Done>(_ => { });
        Receive<Status.Failure>(failure => _log.Warning("Rooms were not all recovered at start: {0}", failure.Cause.Message));
        Receive<CheckOccupants>(check =>
        {
            foreach (var room in _rooms.Keys) TellRoom(room, check, Self);
        });
        Receive<InspectRoom>(inspect => TellRoom(inspect.Room, inspect, Sender));
        Receive<KickOccupantAsAdmin>(kick => TellRoom(kick.Room, kick, Sender));
        Receive<DestroyRoomAsAdmin>(destroy => TellRoom(destroy.Room, destroy, Sender));
        Receive<ListRooms>(_ => Sender.Tell(new RoomList(_listings.Values.Where(l => l.Exists).ToList())));
    }

    /// <summary>
    /// Occupants are durable, so after a crash of this node rooms in the journal may have occupants whose sessions ended
    /// meanwhile: every room is started once, recovers, asks those of its occupants on this node's server whether they
    /// are still there (<see cref="RoomActor"/>), and stops again when idle. Without this, a room nobody writes to would
    /// keep its ghosts until someone does. Started once the room index is back, so that listing comes first.
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
        RoomFor(room);
    }

    public static Props Props(MucServiceOptions options, IStanzaSink sink, ClusterHosts hosts, RoomActorSettings settings) =>
        Akka.Actor.Props.Create(() => new RoomDirectory(options, sink, hosts, settings));

    /// <summary>The room directory of the node at <paramref name="node"/>, where replicas send what their users send.</summary>
    public static ActorSelection At(IActorRefFactory factory, Address node) =>
        factory.ActorSelection(new RootActorPath(node) / "user" / Name);

    /// <summary>
    /// A replica's message counts only when it comes from the node whose certificate vouches for the host it names
    /// (docs/operations.md#security); anything else is logged and dropped, unanswered.
    /// </summary>
    private bool SentByNodeOf(string replicaHost, object message)
    {
        if (_hosts.SpeaksFor(Sender.Path.Address, replicaHost)) return true;
        _log.Warning("Refused {0} from {1}: it is not the node that serves {2}", message.GetType().Name, Sender.Path.Address, replicaHost);
        return false;
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
            Relayed: forwarded.Number is { } number ? new RelayedBy(forwarded.ReplicaHost, number) : null));
    }

    /// <summary>Replicas ping their rooms; the service's own address has no room to answer for it.</summary>
    private void HandlePingFromReplica(KeepalivePing ping)
    {
        if (ping.Room.Local is null) Sender.Tell(new KeepalivePong(ping.Room, ping.ReplicaHost, ping.Id));
        else TellRoom(ping.Room, ping, Sender);
    }

    private void HandleNetjoin(ResyncReplica resync)
    {
        if (resync.Room.Local is null || !resync.Room.Domain.Equals(_options.ServiceDomain, StringComparison.Ordinal))
        {
            _log.Warning("Ignored a netjoin from {0} for {1}, which is not a room of this service", resync.ReplicaHost, resync.Room);
            return;
        }
        TellRoom(resync.Room, resync, Sender);
    }

    private void HandleStanzaFromServer(RouteStanza route)
    {
        var stanza = route.Stanza;
        if (!Jid.TryParse(stanza.Attribute("to")?.Value, out var to) || to.Domain != _options.ServiceDomain)
        {
            ReplyError(stanza, StanzaErrorCondition.JidMalformed, "the recipient is not an address of this service");
            return;
        }
        if (!Jid.TryParse(stanza.Attribute("from")?.Value, out var from))
        {
            ReplyError(stanza, StanzaErrorCondition.JidMalformed, "the sender address is missing or malformed");
            return;
        }
        if (_options.IsServiceAddress(from))
        {
            // Only this service speaks for its addresses, and it never sends to itself: such a stanza is a loop or a
            // forgery, not a user. It is not answered either, since the answer would come straight back here.
            _log.Warning("Refused a stanza from this service's own address {0}: {1}", from, stanza.ToString(SaveOptions.DisableFormatting));
            return;
        }
        if (to.Local is null)
        {
            HandleStanzaToService(stanza);
            return;
        }
        TellRoom(to.Bare, WithRoomCreationQuota(route, from, to), Self);
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

    /// <summary>Every message for a room goes through here, so that none reaches a room that is stopping.</summary>
    private void TellRoom(Jid room, object message, IActorRef sender)
    {
        if (_mailForStoppingRooms.TryGetValue(room, out var mail))
            mail.Add((message, sender));
        else
            RoomFor(room).Tell(message, sender);
    }

    private void HandleStanzaToService(XElement stanza)
    {
        if (_serviceStanzasBeforeIndex is not null)
        {
            _serviceStanzasBeforeIndex.Add(stanza);
            return;
        }
        if (AdminDestroyCommand.Matches(stanza))
        {
            HandleAdminDestroy(stanza);
            return;
        }
        var publicRooms = _listings.Values
            .Where(l => l.Exists && l.IsPublic)
            .OrderBy(l => l.Room.ToString(), StringComparer.Ordinal)
            .Select(l => new RoomListing(l.Room, l.Name, l.Occupants))
            .ToList();
        Send(MucService.HandleServiceStanza(stanza, publicRooms, _options));
    }

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

    private void ReplyError(XElement stanza, StanzaErrorCondition condition, string text)
    {
        // Errors are never answered with errors (RFC 6120 §8.1.2), and without a sender there is no one to tell.
        if (stanza.Attribute("type")?.Value == "error" || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from))
        {
            _log.Warning("Dropped a stanza that cannot be answered: {0}", stanza.ToString(SaveOptions.DisableFormatting));
            return;
        }
        var reply = StanzaError.Reply(stanza, condition, text);
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

    private IActorRef RoomFor(Jid room)
    {
        if (_rooms.TryGetValue(room, out var actor)) return actor;
        actor = Context.ActorOf(RoomActor.Props(room, _options, _sink, _hosts, _settings), ActorNameFor(room));
        Context.Watch(actor);
        _rooms[room] = actor;
        return actor;
    }

    private static string ActorNameFor(Jid room) => Uri.EscapeDataString(room.ToString());

    private void HandleListingChanged(RoomListingChanged listing)
    {
        _index.Tell(listing);
        if (listing.Exists)
        {
            if (!_listings.ContainsKey(listing.Room)) _log.Info("Room {Room} is open ({Occupants} occupants)", listing.Room, listing.Occupants);
            _listings[listing.Room] = listing;
        }
        else if (_listings.Remove(listing.Room))
        {
            _log.Info("Room {Room} was destroyed", listing.Room);
            _creations.Gone(listing.Room);
        }
    }

    /// <summary>Persistent rooms are listed from the index until they are loaded, which then report themselves.</summary>
    private void HandleIndexRecovered(RoomIndexRecovered recovered)
    {
        foreach (var room in recovered.Rooms)
        {
            var jid = Jid.Parse(room.Room);
            _listings.TryAdd(jid, new RoomListingChanged(jid, room.Name, Occupants: 0, room.IsPublic, Exists: true, IsPersistent: true));
        }
        _log.Info("Listed {0} persistent rooms from the room index", recovered.Rooms.Count);
        if (_serviceStanzasBeforeIndex is not { } waiting) return;
        _serviceStanzasBeforeIndex = null;
        foreach (var stanza in waiting) HandleStanzaToService(stanza);
        RecoverRooms();
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
        if (terminated.ActorRef.Equals(_index))
        {
            // The journal could not be read: list what the rooms themselves report rather than never answer.
            _log.Warning("The room index stopped; the service lists only rooms loaded since the start");
            HandleIndexRecovered(new RoomIndexRecovered([]));
            return;
        }
        var room = _rooms.FirstOrDefault(pair => Equals(pair.Value, terminated.ActorRef)).Key;
        if (room is null) return;
        _rooms.Remove(room);
        if (!_mailForStoppingRooms.Remove(room, out var mail))
        {
            _log.Warning("Room {0} stopped unexpectedly; it restarts from its journal on the next stanza", room);
            return;
        }
        foreach (var (message, sender) in mail)
            RoomFor(room).Tell(message, sender);
    }

    private void HandleShutdown()
    {
        var rooms = _rooms.Values.ToList();
        var replyTo = Sender;
        var answers = rooms.Select(room => room.Ask<Done>(ShutDownRooms.Instance, TimeSpan.FromSeconds(10)));
        Task.WhenAll(answers).ContinueWith(_ => new RoomsShutDown(rooms.Count)).PipeTo(replyTo);
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

/// <summary>A room found in the journal at start, to recover (and check its occupants).</summary>
internal sealed record RecoverRoom(string PersistenceId);

/// <summary>Asks the directory for the rooms it knows; answered with <see cref="RoomList"/>.</summary>
public sealed record ListRooms
{
    public static readonly ListRooms Instance = new();
}

public sealed record RoomList(IReadOnlyList<RoomListingChanged> Rooms);

public static class RoomDirectoryHosting
{
    /// <summary>Starts the node's room directory and registers it as <see cref="RoomDirectory"/>.</summary>
    public static AkkaConfigurationBuilder AddRoomDirectory(this AkkaConfigurationBuilder builder,
        MucServiceOptions options, RoomActorSettings settings) =>
        builder.WithActors((system, registry, resolver) =>
        {
            var sink = resolver.GetService<IStanzaSink>();
            var hosts = resolver.GetService<ClusterHosts>();
            registry.Register<RoomDirectory>(system.ActorOf(RoomDirectory.Props(options, sink, hosts, settings), RoomDirectory.Name));
        });
}
