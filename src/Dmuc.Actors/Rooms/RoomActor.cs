using System.Diagnostics;
using Akka;
using Akka.Actor;
using Akka.Event;
using System.Xml.Linq;
using Akka.Persistence;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Telemetry;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// One XEP-0045 room. Thin by design: <see cref="RoomState"/> decides, this actor persists the durable
/// events, applies them and sends what the decision said, in that order — a message is echoed only once
/// it is in the journal.
/// </summary>
/// <remarks>
/// Events are applied as soon as they are decided (before the write completes) so that the next stanza,
/// which may already be in the mailbox, is judged against the state that includes them. A failed write
/// stops the actor; it then recovers from the journal, which holds exactly what was acknowledged.
/// Deliveries of commands without durable events go through <c>DeferAsync</c> so they keep their order
/// behind deliveries still waiting for a write.
/// </remarks>
public sealed class RoomActor : ReceivePersistentActor, IWithTimers
{
    private readonly Jid _room;
    private readonly MucServiceOptions _options;
    private readonly IStanzaSink _sink;
    private readonly ClusterHosts _hosts;
    private readonly RoomActorSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly DmucMetrics _metrics = DmucMetrics.Of(Context.System);
    private readonly RoomGauge _gauge = DmucMetrics.Of(Context.System).TrackRoom();
    private RoomState _state;
    private long _durableEventsSinceSnapshot;
    private bool _snapshotInFlight;
    private long _snapshotSequenceNr;
    // How far this actor asked the journal to delete the events of expired messages (docs/protocol/archive.md#retention).
    private long _journalTrimmedThrough;
    private RoomListingChanged? _lastListing;
    // What came of the stanzas replica hosts held during splits, until their resyncs are known to have arrived.
    private readonly HeldStanzaLedger _held = new();
    private readonly SplitHostAway _splitHostAway = new();
    private readonly bool _showSplitUsersAway;
    private long _probes;
    // Archive queries handed to the reader and not yet answered: stopping now would stop the reader with them.
    private int _archiveReadsPending;
    // Decided, but sent only once the journal has them: output the server does not see queued yet.
    private long _localBytesAwaitingWrite;

    private static readonly TimeSpan LinkInspectionTimeout = TimeSpan.FromSeconds(2);

    public RoomActor(Jid room, MucServiceOptions options, IStanzaSink sink, ClusterHosts hosts, RoomActorSettings settings)
    {
        _room = room;
        _options = options;
        _sink = sink;
        _hosts = hosts;
        _settings = settings;
        _state = new RoomState(room, options);
        _showSplitUsersAway = ReplicationSettings.Of(Context.System).ShowSplitUsersAway;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not RoomSnapshot snapshot) return;
            _state = RoomState.FromSnapshot(_room, _options, snapshot);
            _snapshotSequenceNr = offer.Metadata.SequenceNr;
        });
        Recover<RoomEvent>(@event => _state.Apply(@event));
        Recover<RecoveryCompleted>(_ =>
        {
            _log.Debug("Room {0} recovered at sequence number {1}", _room, LastSequenceNr);
            // Occupants are durable: after a crash, those of this node's server who are gone must be found out.
            ProbeLocalSessions();
            // The index learns which rooms have occupants from this, also for rooms it last heard of before a crash.
            PublishListingIfChanged();
            // A room started only to recover (RoomDirectory at start) stops again once idle.
            ScheduleIdleCheck();
            if (_options.ArchiveRetention is not null)
                Timers.StartPeriodicTimer(ArchiveExpiryCheck.Instance, ArchiveExpiryCheck.Instance, TimeSpan.Zero, _settings.ArchiveExpiryCheckInterval);
        });

        Command<RouteStanza>(HandleStanzaFromDirectory);
        Command<CheckOccupants>(_ => ProbeLocalSessions());
        Command<ReplicaLink.Bounced>(bounced => SendWhenEarlierWritesAreDone(new Outgoing(PlanOf(bounced.Deliveries)), afterSent: null));
        Command<ShutDownRooms>(_ => HandleShutdown());
        Command<DestroyRoomAsAdmin>(HandleAdminDestroy);
        Command<EnterRefused>(HandleEnterRefused);
        Command<ReplicaLink.ReplicaHostGone>(HandleReplicaHostGone);
        Command<KeepalivePing>(ping => ReplicaLink.LinkTo(Context, _room, ping.ReplicaHost, _hosts).Forward(ping));
        Command<ResyncReplica>(HandleNetjoin);
        Command<ReplicaLink.ReplicaSplit>(split => ShowSplitHost(() => _splitHostAway.HostSplit(_state, split.Host)));
        Command<ReplicaLink.ReplicaRejoined>(rejoined => ShowSplitHost(() => _splitHostAway.HostRejoined(_state, rejoined.Host)));
        Command<InspectRoom>(_ => HandleInspect());
        Command<ArchiveReader.PageRead>(SendArchivePage);
        Command<ArchiveExpiryCheck>(_ => FindExpiredMessages());
        Command<ArchiveReader.ExpiryFound>(found =>
            Handle(new ExpireArchivedMessages(found.Newest.SequenceNr, found.Newest.StanzaId, DateTimeOffset.UtcNow)));
        Command<KickOccupantAsAdmin>(HandleAdminKick);
        Command<IdleCheck>(_ => ReportIdleIfPassivatable());
        Command<StopIfIdle>(_ => StopIfStillIdle());
        Command<SaveSnapshotSuccess>(success =>
        {
            _snapshotInFlight = false;
            _snapshotSequenceNr = success.Metadata.SequenceNr;
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1));
            TrimJournal();
            SnapshotIfDue();
        });
        Command<SaveSnapshotFailure>(failure =>
        {
            _snapshotInFlight = false;
            _log.Warning("Snapshot of {0} failed: {1}", _room, failure.Cause.Message);
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure => _log.Warning("Old snapshots of {0} not deleted: {1}", _room, failure.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failure => _log.Warning("Expired events of {0} not deleted: {1}", _room, failure.Cause.Message));
    }

    public override string PersistenceId => PersistenceIdFor(_room);

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PostStop() { _gauge.Dispose(); base.PostStop(); }

    public const string PersistenceIdPrefix = "room:";

    public static string PersistenceIdFor(Jid room) => PersistenceIdPrefix + room;

    public static Props Props(Jid room, MucServiceOptions options, IStanzaSink sink, ClusterHosts hosts, RoomActorSettings settings) =>
        Akka.Actor.Props.Create(() => new RoomActor(room, options, sink, hosts, settings));

    private void HandleStanzaFromDirectory(RouteStanza route)
    {
        var command = new HandleStanza(route.Stanza, DateTimeOffset.UtcNow, CreationDenied: route.CreationDenied);
        // Checked again here, not only where the stream is read: what waited in the mailbox meanwhile must not overrun
        // the server. A replica's forward was admitted by its own node, against its own server.
        var decision = route.Relayed is { } relayed ? HandleRelayed(command, relayed)
            : _sink.RefusedUnderLoad(route.Stanza, _localBytesAwaitingWrite) ? null
            : Handle(command);
        if (route.CreationReserved) Context.Parent.Tell(new RoomCreationSettled(_room, decision?.Events.Any(e => e is RoomCreated) == true));
    }

    /// <summary>
    /// A replica's numbered forward (docs/protocol/netjoin.md §2): processed once, in the replica's order, and
    /// acknowledged with what it caused; a resend is only acknowledged again, and one past a gap waits for the netjoin.
    /// </summary>
    /// <returns>What the room decided, or null when it did not process the stanza.</returns>
    private Decision? HandleRelayed(HandleStanza command, RelayedBy relayed)
    {
        var (host, number) = (relayed.Host, relayed.Number);
        _held.ForwardsAcknowledged(host, number.Session, number.Acknowledged);
        var (verdict, upTo) = RelayedForwards.Admit(_state, host, number);
        switch (verdict)
        {
            case ForwardVerdict.Duplicate:
                SendWhenEarlierWritesAreDone(new Outgoing(PlanOf([]), (host, new ForwardAck(number.Session, upTo))), afterSent: null);
                return null;
            case ForwardVerdict.Gap:
                _log.Warning("Room {0}: forward {1} of {2} came after {3}; the forwards between were lost, asking for a netjoin",
                    _room, number.Number, host, upTo);
                ReplicaLink.LinkTo(Context, _room, host, _hosts).Tell(ReplicaLink.AskToRejoin.Instance);
                return null;
        }
        var decision = Handle(command, relayed: relayed);
        _held.ForwardProcessed(host, number.Session, number.Number, decision, _room);
        return decision;
    }

    /// <summary>
    /// Asks each occupant session on this node's own XMPP server whether it is still there (XEP-0199): a server that
    /// lost the session answers with an error, and the room removes it (333). After a crash of this node, or of its server.
    /// </summary>
    private void ProbeLocalSessions()
    {
        var ownHost = _hosts.OwnHost;
        var pings = _state.ProbeSessions(session => ownHost is null ? _hosts.ReplicaNodeFor(session.Domain) is null : session.Domain == ownHost,
            $"dmuc-probe-{++_probes}");
        if (pings.Count == 0) return;
        _log.Info("Room {0}: checking that its {1} occupant sessions on this node's server are still there", _room, pings.Count);
        _sink.Send(pings);
    }

    private void HandleAdminDestroy(DestroyRoomAsAdmin destroy)
    {
        var existed = _state.Exists;
        var replyTo = Sender;
        Handle(new DestroyRoom(destroy.Reason, null, DateTimeOffset.UtcNow),
            afterSent: () => replyTo.Tell(new AdminDestroyDone(_room, existed && !_state.Exists)));
    }

    private void HandleAdminKick(KickOccupantAsAdmin kick)
    {
        var outcome = !_state.Exists ? AdminKickOutcome.NoSuchRoom
            : _state.OccupantNicks.Contains(kick.Nick) ? AdminKickOutcome.Kicked
            : AdminKickOutcome.NoSuchOccupant;
        var replyTo = Sender;
        Handle(new KickOccupant(kick.Nick, kick.Reason, DateTimeOffset.UtcNow),
            afterSent: () => replyTo.Tell(new AdminKickDone(_room, kick.Nick, outcome)));
    }

    /// <summary>
    /// The room's own state is read at once; its replica links answer asynchronously, and one that does not answer
    /// in time is left out rather than holding up the answer.
    /// </summary>
    private void HandleInspect()
    {
        var inspection = new RoomInspection(_room, _state.Exists, _state.Config.Name ?? "", _state.Sessions.ToList(),
            _state.History, LastSequenceNr, [], ((ExtendedActorSystem)Context.System).Provider.DefaultAddress);
        var links = Context.GetChildren().Where(child => child.Path.Name != ArchiveReader.ChildName).Select(link => link
            .Ask<ReplicaLink.LinkInspection>(ReplicaLink.InspectLink.Instance, LinkInspectionTimeout)
            .ContinueWith(asked => asked.IsCompletedSuccessfully ? asked.Result : null, TaskScheduler.Default));
        Task.WhenAll(links)
            .ContinueWith(answered => inspection with { Links = answered.Result.OfType<ReplicaLink.LinkInspection>().ToList() },
                TaskScheduler.Default)
            .PipeTo(Sender);
        // An inspection of a room that does not exist starts this actor; let it passivate again.
        ScheduleIdleCheck();
    }

    /// <summary>A replica did not take an occupant in (§4.5): for the room, that occupant has left.</summary>
    private void HandleEnterRefused(EnterRefused refused)
    {
        var session = _state.Sessions.FirstOrDefault(s => s.RealJid == refused.Occupant);
        if (session is null || refused.Occupant.Domain != refused.ReplicaHost) return;
        _log.Warning("Room {0}: {1} refused {2}; removing that occupant", _room, refused.ReplicaHost, refused.Occupant);
        Handle(new HandleStanza(UnavailableFrom(session), DateTimeOffset.UtcNow));
    }

    /// <summary>
    /// A replica host's node left the cluster for good (its link found no node for a while): its occupants leave, as
    /// if each had sent unavailable presence, so that nobody elsewhere keeps seeing them.
    /// </summary>
    private void HandleReplicaHostGone(ReplicaLink.ReplicaHostGone gone)
    {
        foreach (var session in _state.Sessions.Where(session => session.RealJid.Domain == gone.Host).ToList())
            Handle(new HandleStanza(UnavailableFrom(session), DateTimeOffset.UtcNow));
    }

    private XElement UnavailableFrom(OccupantSessionView session) =>
        new(Ns.Client + "presence", new XAttribute("type", "unavailable"),
            new XAttribute("from", session.RealJid.ToString()), new XAttribute("to", _room.WithResource(session.Nick).ToString()));

    /// <summary>
    /// A replica is back from a netsplit (docs/protocol/netjoin.md): what its users did alone is processed now,
    /// as sent when the replica served it, so every other host hears of it; then, after everything that causes is
    /// sent, the replica gets one resync batch with what it missed.
    /// </summary>
    private void HandleNetjoin(ResyncReplica resync)
    {
        var host = resync.ReplicaHost;
        var now = DateTimeOffset.UtcNow;
        // Those already processed in an earlier netjoin whose resync the replica never got are skipped.
        var heldToProcess = _held.ToProcess(resync);
        // First what the replica forwarded before the split and never heard back about: what the room did not process
        // yet it processes now, in order, as sent then (docs/protocol/netjoin.md §3).
        if (resync.Unacknowledged is { } unacked)
        {
            for (var i = 0; i < unacked.Stanzas.Count; i++)
            {
                var number = new ForwardNumber(unacked.Session, unacked.First + i, unacked.First - 1);
                var (verdict, upTo) = RelayedForwards.Admit(_state, host, number);
                if (verdict == ForwardVerdict.Duplicate) continue;
                if (verdict == ForwardVerdict.Gap)
                {
                    _log.Warning("Room {0}: the netjoin of {1} reports forwards from {2}, after {3}", _room, host, number.Number, upTo);
                    break;
                }
                var (stanza, sentAt) = (unacked.Stanzas[i].Stanza, unacked.Stanzas[i].ServedAt);
                var from = Jid.TryParse(stanza.Attribute("from")?.Value, out var sender) && sender.Domain == host;
                if (!from) _log.Warning("Room {0}: refused a forward from {1} in the netjoin of {2}", _room, sender?.ToString() ?? "(nobody)", host);
                var decision = Handle(new HandleStanza(from ? stanza : new XElement(Ns.Client + "message"), now, sentAt < now ? sentAt : now),
                    relayed: new RelayedBy(host, number));
                _held.ForwardProcessed(host, number.Session, number.Number, decision, _room);
            }
        }
        foreach (var (number, held) in heldToProcess)
        {
            var stanza = held.Stanza;
            if (Jid.TryParse(stanza.Attribute("from")?.Value, out var from) && from.Domain == host)
                _held.Processed(host, number, Handle(new HandleStanza(stanza, now, held.ServedAt < now ? held.ServedAt : now)));
            else
                _log.Warning("Room {0}: refused a held stanza from {1} in the netjoin of {2}", _room, from?.ToString() ?? "(nobody)", host);
        }
        var resyncBatch = new ReplicaLink.SendResync(resync.NetjoinId, NetjoinPlanner.Resync(_state, host, resync, _held.OutcomeFor(host)),
            resync.Unacknowledged is { } reported ? RelayedForwards.AckFor(_state, host, reported.Session) : null);
        _log.Info("Room {0}: netjoin {1} of {2} with {3} held stanzas; resync of {4} items", _room, resync.NetjoinId, host,
            resync.HeldStanzas.Count, resyncBatch.Items.Count);
        var link = ReplicaLink.LinkTo(Context, _room, host, _hosts);
        DeferAsync(resyncBatch, link.Tell);
    }

    /// <summary>The answer to an archive query goes out like any reply of the room, to a replica host in a batch.</summary>
    private void SendArchivePage(ArchiveReader.PageRead page)
    {
        _archiveReadsPending--;
        ScheduleIdleCheck();
        SendWhenEarlierWritesAreDone(new Outgoing(PlanOf(page.Deliveries)), afterSent: null);
    }

    /// <summary>
    /// Shows a split host's occupants as away, or as they are again once it rejoined (§4.11.1 MAY, when
    /// configured). Behind every write still pending, so it never overtakes what the room decided before.
    /// </summary>
    private void ShowSplitHost(Func<IReadOnlyList<Delivery>> presences)
    {
        if (!_showSplitUsersAway) return;
        SendWhenEarlierWritesAreDone(new Outgoing(PlanOf(presences())), afterSent: null);
    }

    /// <summary>Deliveries that change no sessions, split into local ones and one batch per replica host.</summary>
    private ReplicationPlanner.Plan PlanOf(IReadOnlyList<Delivery> deliveries)
    {
        var sessions = SessionsByRealJid();
        return ReplicationPlanner.Split(deliveries, IsReplicaHost, _room,
            sessions, sessions, command: null, acceptedAt: null);
    }

    /// <param name="relayed">The replica forward the command is: the room records it and acknowledges it with what it sends.</param>
    /// <returns>What the room decided (already applied, and sent or to be sent once written).</returns>
    private Decision Handle(RoomCommand command, Action? afterSent = null, RelayedBy? relayed = null)
    {
        var (decision, outgoing) = Decide(command, relayed);
        var durable = decision.Events.Where(e => e.IsDurable).ToList();
        if (durable.Count == 0)
        {
            SendWhenEarlierWritesAreDone(outgoing, afterSent);
        }
        else
        {
            var written = 0;
            var writeStarted = Stopwatch.GetTimestamp();
            var localBytes = _sink.BytesToSend(outgoing.Plan.Local);
            _localBytesAwaitingWrite += localBytes;
            PersistAllAsync(durable, _ =>
            {
                if (++written < durable.Count) return;
                _metrics.JournalWritten(writeStarted);
                _localBytesAwaitingWrite -= localBytes;
                Send(outgoing);
                afterSent?.Invoke();
                _durableEventsSinceSnapshot += durable.Count;
                SnapshotIfDue();
            });
        }
        // Behind the writes still pending, so that the archive holds every message the room echoed before the query.
        if (decision.ArchiveRead is { } archiveQuery)
            DeferAsync(archiveQuery, query =>
            {
                _archiveReadsPending++;
                ArchiveReader.Of(Context, PersistenceId, _options.ArchiveRetention).Tell(new ArchiveReader.ReadPage(query, LastSequenceNr));
            });
        PublishListingIfChanged();
        _gauge.Observe(_state, _hosts);
        ScheduleIdleCheck();
        return decision;
    }

    /// <summary>Processes a command, applies its events at once, and plans who gets what.</summary>
    private (Decision Decision, Outgoing Outgoing) Decide(RoomCommand command, RelayedBy? relayed)
    {
        var sessionsBefore = SessionsByRealJid();
        var decision = _state.Process(command);
        if (relayed is not null)
            decision = decision with { Events = [.. decision.Events, RelayedForwards.Processed(relayed.Host, relayed.Number, decision)] };
        _metrics.Decided(command, decision);
        foreach (var @event in decision.Events)
            _state.Apply(@event);
        var acceptedAt = decision.Events.OfType<HistoryMessageAdded>().Select(e => (DateTimeOffset?)e.Entry.Timestamp).FirstOrDefault();
        // A message, a subject or a counted stanza leaves the sessions as they were: no need to list a large room twice.
        var sessionsAfter = decision.Events.All(e => e is HistoryMessageAdded or SubjectChanged or OccupantStanzaCounted or RelayedStanzaProcessed)
            ? sessionsBefore : SessionsByRealJid();
        var stanza = (command as HandleStanza)?.Stanza;
        var plan = ReplicationPlanner.Split(decision.Deliveries, IsReplicaHost, _room,
            sessionsBefore, sessionsAfter, stanza, acceptedAt);
        return (decision, new Outgoing(plan,
            relayed is null ? null : (relayed.Host, new ForwardAck(relayed.Number.Session, relayed.Number.Number)),
            SplitBounces.For(stanza, plan.ByHost.Keys)));
    }

    /// <summary>
    /// Whether a host's users are reached through a replica link. Until this node's view of the cluster has the primary
    /// (right after a restart), every host but its own is taken as one: sent through its own server, a replica host's
    /// users would be reached over s2s, whose bounces would make the room remove them.
    /// </summary>
    private bool IsReplicaHost(string host) =>
        _hosts.ReplicaNodeFor(host) is not null || (_hosts.OwnHost is { } own && host != own && _hosts.PrimaryNode is null);

    private Dictionary<Jid, string> SessionsByRealJid() =>
        _hosts.Hosts.Count == 0 ? [] : _state.Sessions.ToDictionary(session => session.RealJid, session => session.Nick);

    /// <summary>Local occupants get their stanzas from here; each replica host gets one batch.</summary>
    private void Send(Outgoing outgoing) => ReplicaLink.Dispatch(Context, _room, outgoing.Plan, _sink, _hosts, outgoing.Ack, outgoing.Bounces);

    private void SendWhenEarlierWritesAreDone(Outgoing outgoing, Action? afterSent)
    {
        if (outgoing.Plan.Local.Count == 0 && outgoing.Plan.ByHost.Count == 0 && outgoing.Ack is null && afterSent is null) return;
        DeferAsync(outgoing, planned =>
        {
            Send(planned);
            afterSent?.Invoke();
        });
    }

    private void HandleShutdown()
    {
        var replyTo = Sender;
        Handle(new ShutDownRoom(DateTimeOffset.UtcNow), afterSent: () => replyTo.Tell(Done.Instance));
    }

    /// <summary>Asks the archive's reader whether retention expired messages beyond what the room recorded.</summary>
    private void FindExpiredMessages()
    {
        if (_state.Exists)
            ArchiveReader.Of(Context, PersistenceId, _options.ArchiveRetention).Tell(new ArchiveReader.FindExpired(LastSequenceNr, _state.ArchiveExpiredThrough));
    }

    /// <summary>
    /// Deletes the journal's events up to the newest expired message, as far as the latest snapshot covers them: the
    /// journal only ever loses a prefix (Akka.Persistence), and recovery starts from that snapshot.
    /// </summary>
    private void TrimJournal()
    {
        var through = Math.Min(_snapshotSequenceNr, _state.ArchiveExpiredThrough);
        if (through <= _journalTrimmedThrough) return;
        _journalTrimmedThrough = through;
        DeleteMessages(through);
    }

    private void SnapshotIfDue()
    {
        // Expired messages wait for a snapshot that covers them before their events can go.
        var expiryToTrim = _state.ArchiveExpiredThrough > _snapshotSequenceNr;
        // One snapshot at a time. Under sustained load the snapshot store (which on SQLite shares the single
        // writer with the journal) falls behind; queued snapshots are stale by the time they are written and
        // are lost at shutdown, leaving recovery to replay most of the journal.
        if ((_durableEventsSinceSnapshot < _settings.SnapshotEvery && !expiryToTrim) || _snapshotInFlight) return;
        _durableEventsSinceSnapshot = 0;
        _snapshotInFlight = true;
        SaveSnapshot(_state.ToSnapshot());
    }

    private void PublishListingIfChanged()
    {
        var changed = new RoomListingChanged(_room, _state.Config.Name ?? "", _state.OccupantCount,
            _state.Exists && _state.Config.Public, _state.Exists, _state.Config.Persistent);
        if (changed == _lastListing) return;
        _lastListing = changed;
        Context.Parent.Tell(changed);
    }

    private bool CanPassivate => _state.CanPassivate && _archiveReadsPending == 0;

    private void ScheduleIdleCheck()
    {
        if (CanPassivate)
            Timers.StartSingleTimer(IdleCheck.Instance, IdleCheck.Instance, _settings.IdleTimeout);
        else
            Timers.Cancel(IdleCheck.Instance);
    }

    private void ReportIdleIfPassivatable()
    {
        if (CanPassivate) Context.Parent.Tell(new RoomIdle(_room));
    }

    private void StopIfStillIdle()
    {
        // Deferred so that replies still waiting for a write go out before the room stops.
        DeferAsync(StopIfIdle.Instance, _ =>
        {
            if (CanPassivate) Context.Stop(Self);
            else Context.Parent.Tell(new RoomBusyAgain(_room));
        });
    }

    private sealed class IdleCheck
    {
        public static readonly IdleCheck Instance = new();
    }

    private sealed class ArchiveExpiryCheck
    {
        public static readonly ArchiveExpiryCheck Instance = new();
    }

    /// <summary>What one decision sends: the plan, the acknowledgement of the forward it processed, and the bounces should a batch be withheld.</summary>
    private sealed record Outgoing(ReplicationPlanner.Plan Plan, (string Host, ForwardAck Ack)? Ack = null,
        IReadOnlyDictionary<string, IReadOnlyList<Delivery>>? Bounces = null);
}

public sealed record RoomActorSettings(int SnapshotEvery, TimeSpan IdleTimeout)
{
    /// <summary>How often a live room checks its archive for messages retention expired (when the service sets retention).</summary>
    public TimeSpan ArchiveExpiryCheckInterval { get; init; } = TimeSpan.FromMinutes(10);

    public static readonly RoomActorSettings Default = new(SnapshotEvery: 500, IdleTimeout: TimeSpan.FromSeconds(30));
}
