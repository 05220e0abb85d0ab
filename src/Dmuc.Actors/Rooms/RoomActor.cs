using System.Diagnostics;
using Akka;
using Akka.Actor;
using Akka.Cluster.Sharding;
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
    // Everything the room sends, gathered over the decisions whose writes complete back to back (GatheredSends).
    private readonly GatheredSends _sends;
    // Stanzas numbered on the component stream whose writes are done and whose sends wait in _sends: settled at the flush.
    private readonly List<StreamReceipt> _receiptsAwaitingFlush = [];
    // The own host's receipt to check once the gathered sends it covers go to the sink: checking at once would flush them early.
    private DeliveryReceipt? _ownHostCheckAfterFlush;
    private readonly ClusterHosts _hosts;
    private readonly RoomActorSettings _settings;
    // Where the room reports its listing and creations: its node's room directory.
    private readonly IActorRef _directory;
    private readonly RoomPlacement _placement;
    private readonly long _recoveryStarted;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly DmucMetrics _metrics = DmucMetrics.Of(Context.System);
    private readonly RoomGauge _gauge = DmucMetrics.Of(Context.System).TrackRoom();
    private readonly PrimaryRoom _primary;
    private long _durableEventsSinceSnapshot;
    private bool _snapshotInFlight;
    private long _snapshotSequenceNr;
    // How far this actor asked the journal to delete the events of expired messages (docs/protocol/archive.md#retention).
    private long _journalTrimmedThrough;
    private RoomListingChanged? _lastListing;
    private readonly SplitHostAway _splitHostAway = new();
    private readonly bool _showSplitUsersAway;
    private long _probes;
    // Archive queries handed to the reader and not yet answered: stopping now would stop the reader with them.
    private int _archiveReadsPending;
    // Decided, but not handed to the sink yet (waiting for the journal, or gathered): output the server does not see queued yet.
    private long _localBytesAwaitingWrite;
    // Of those, what is written and gathered.
    private long _localBytesGathered;

    private static readonly TimeSpan LinkInspectionTimeout = TimeSpan.FromSeconds(2);

    public RoomActor(Jid room, MucServiceOptions options, IStanzaSink sink, ClusterHosts hosts, RoomActorSettings settings,
        IActorRef directory, RoomPlacement placement)
    {
        _recoveryStarted = Stopwatch.GetTimestamp();
        _room = room;
        _directory = directory;
        _placement = placement;
        _options = options;
        _sends = new GatheredSends(sink, () => Self.Tell(GatheredSends.FlushDue.Instance));
        _hosts = hosts;
        _settings = settings;
        var replication = ReplicationSettings.Of(Context.System);
        _primary = new PrimaryRoom(new RoomState(room, options), IsReplicaHost, () => _hosts.Hosts.Count > 0, replication.ReceiptJournalInterval,
            _hosts.OwnHost);
        _showSplitUsersAway = replication.ShowSplitUsersAway;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not RoomSnapshot snapshot) return;
            _primary.State = RoomState.FromSnapshot(_room, _options, snapshot);
            _snapshotSequenceNr = offer.Metadata.SequenceNr;
        });
        Recover<RoomEvent>(@event => _primary.State.Apply(@event));
        Recover<RecoveryCompleted>(_ =>
        {
            _log.Debug("Room {0} recovered at sequence number {1}", _room, LastSequenceNr);
            _primary.Recovered();
            // A sharded room that comes back with occupants has moved here (a failover or a drain): the failover's timeline.
            if (_placement == RoomPlacement.Sharded && _primary.State.OccupantCount > 0)
                _log.Info("Room {0} recovered on this node with {1} occupants, at sequence number {2} in {3:F0} ms", _room,
                    _primary.State.OccupantCount, LastSequenceNr, Stopwatch.GetElapsedTime(_recoveryStarted).TotalMilliseconds);
            if (_primary.OwnHostMayHaveMissed) AskWhatOwnHostGot();
            // Occupants are durable: after a crash, those of this node's server who are gone must be found out.
            else ProbeLocalSessions();
            // The index learns which rooms have occupants from this, also for rooms it last heard of before a crash.
            PublishListingIfChanged();
            if (_primary.HostsWithUsersFromBefore().Any())
                Timers.StartPeriodicTimer(LinkHostsWithUsersFromBefore.Instance, LinkHostsWithUsersFromBefore.Instance, TimeSpan.Zero, HostNamingLook);
            // A room started only to recover (RoomDirectory at start) stops again once idle.
            ScheduleIdleCheck();
            if (_options.ArchiveRetention is not null)
                Timers.StartPeriodicTimer(ArchiveExpiryCheck.Instance, ArchiveExpiryCheck.Instance, TimeSpan.Zero, _settings.ArchiveExpiryCheckInterval);
        });

        Command<RouteStanza>(HandleStanzaFromDirectory);
        Command<GatheredSends.FlushDue>(_ => FlushSends());
        Command<CheckOccupants>(_ => ProbeLocalSessions());
        Command<LinkHostsWithUsersFromBefore>(_ => AskHostsWithUsersFromBeforeToRelearn());
        Command<ReplicaLink.Bounced>(bounced => SendWhenEarlierWritesAreDone(_primary.PlanOf(bounced.Deliveries), afterSent: null));
        Command<ShutDownRooms>(_ => HandleShutdown());
        Command<DestroyRoomAsAdmin>(HandleAdminDestroy);
        Command<EnterRefused>(HandleEnterRefused);
        Command<ServerBehind>(word => _primary.ReplicaServerBehind(word, DateTimeOffset.UtcNow));
        Command<ReplicaLink.ReplicaHostGone>(HandleReplicaHostGone);
        Command<KeepalivePing>(ping => LinkTo(ping.ReplicaHost).Forward(ping));
        Command<ResyncReplica>(HandleNetjoin);
        Command<DeliveryReceipt>(HandleReceipt);
        Command<OwnHostWritten>(HandleOwnHostWritten);
        Command<ReceiptDue>(due => JournalReceipt(due.Host));
        Command<ReplicaLink.ReplicaSplit>(split =>
        {
            JournalReceipt(split.Host);
            ShowSplitHost(() => _splitHostAway.HostSplit(_primary.State, split.Host));
        });
        Command<ReplicaLink.ReplicaRejoined>(rejoined => ShowSplitHost(() => _splitHostAway.HostRejoined(_primary.State, rejoined.Host)));
        Command<InspectRoom>(_ => HandleInspect());
        Command<ArchiveReader.PageRead>(SendArchivePage);
        Command<ArchiveReader.LookedUp>(HandleWithArchiveAnswer);
        Command<ArchiveExpiryCheck>(_ => CheckArchiveExpiry());
        Command<ArchiveReader.ExpiryFound>(found =>
            Handle(new ExpireArchivedMessages(found.Newest.SequenceNr, found.Newest.StanzaId, DateTimeOffset.UtcNow)));
        Command<KickOccupantAsAdmin>(HandleAdminKick);
        Command<IdleCheck>(_ => ReportIdleIfPassivatable());
        Command<StopIfIdle>(_ => StopIfStillIdle());
        Command<PassivateRoom>(_ =>
        {
            // Sharding hands a room with occupants over this way (a drain): its next start must not resend what was written.
            JournalReceipt(_primary.OwnHost);
            DeferAsync(PassivateRoom.Instance, _ => Context.Stop(Self));
        });
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
        Command<DeleteMessagesFailure>(failure =>
        {
            // The next expiry check deletes them again (a failed delete leaves the journal as it was).
            _journalTrimmedThrough = 0;
            _log.Warning("Expired events of {0} not deleted: {1}", _room, failure.Cause.Message);
        });
    }

    public override string PersistenceId => PersistenceIdFor(_room);

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PostStop()
    {
        // A stopped room journals nothing more: checking its own host's receipt now would only reach dead letters.
        _ownHostCheckAfterFlush = null;
        FlushSends();
        _gauge.Dispose();
        base.PostStop();
    }

    public const string PersistenceIdPrefix = "room:";

    public static string PersistenceIdFor(Jid room) => PersistenceIdPrefix + room;

    public static Props Props(Jid room, MucServiceOptions options, IStanzaSink sink, ClusterHosts hosts, RoomActorSettings settings,
        IActorRef directory, RoomPlacement placement) =>
        Akka.Actor.Props.Create(() => new RoomActor(room, options, sink, hosts, settings, directory, placement));

    private void HandleStanzaFromDirectory(RouteStanza route)
    {
        var now = DateTimeOffset.UtcNow;
        var resent = route.Receipt?.Resent == true || route.Relayed?.Resent == true;
        var (stanza, firstHanded) = resent ? StreamAckProtocol.FirstHanded(route.Stanza, _options.ServiceDomain) : (route.Stanza, null);
        var command = new HandleStanza(stanza, now, SentAt: firstHanded < now ? firstHanded : null, CreationDenied: route.CreationDenied, Resent: resent);
        // Checked again here, not only where the stream is read: what waited in the mailbox meanwhile must not overrun
        // the server. A replica's forward was admitted by its own node, against its own server, and is checked against
        // this one's too; the room also refuses while a replica host's server is behind (RoomLoadShedding).
        var serverBehind = _sends.ServerBehind(_localBytesAwaitingWrite);
        var decision = route.Relayed is { } relayed ? HandleRelayed(command, relayed, serverBehind) : Handle(command, serverBehind: serverBehind);
        // To the directory that reserved it, which with rooms sharded may be another node's; once the creation is in the
        // journal, since the directory bounds the creations under way by it (RoomCreationBurst).
        if (route.CreationReserved)
            DeferAsync(new RoomCreationSettled(_room, decision?.Events.Any(e => e is RoomCreated) == true), Sender.Tell);
        // Behind the decision's writes and sends: the server may forget the stanza once it is told.
        if (route.Receipt is { } receipt) DeferAsync(receipt, SettleOnceSent);
    }

    /// <summary>A stanza's outcome is durable once its writes are done and what it sends is handed to the outbox.</summary>
    private void SettleOnceSent(StreamReceipt receipt)
    {
        if (_sends.IsEmpty) receipt.Settle();
        else _receiptsAwaitingFlush.Add(receipt);
    }

    /// <summary>A replica's numbered forward (docs/protocol/netjoin.md §2), as <see cref="PrimaryRoom.Relayed"/> decides.</summary>
    /// <returns>What the room decided, or null when it did not process the stanza.</returns>
    private Decision? HandleRelayed(HandleStanza command, RelayedBy relayed, bool serverBehind)
    {
        var outcome = _primary.Relayed(command, relayed, serverBehind);
        if (outcome.AcknowledgedAgain is { } ack) SendWhenEarlierWritesAreDone(ack, afterSent: null);
        if (outcome.Verdict == ForwardVerdict.Gap)
        {
            _log.Warning("Room {0}: forward {1} of {2} came after {3}; the forwards between were lost, asking for a netjoin",
                _room, relayed.Number.Number, relayed.Host, outcome.UpTo);
            LinkTo(relayed.Host).Tell(ReplicaLink.AskToRejoin.Instance);
        }
        if (outcome.Decided is not { } decided) return null;
        Commit(decided);
        return decided.Decision;
    }

    /// <summary>
    /// Asks each occupant session on this node's own XMPP server whether it is still there (XEP-0199): a server that
    /// lost the session answers with an error, and the room removes it (333). After a crash of this node, or of its server.
    /// </summary>
    private void ProbeLocalSessions()
    {
        var ownHost = _hosts.OwnHost;
        var pings = _primary.State.ProbeSessions(session => ownHost is null ? _hosts.ReplicaNodeFor(session.Domain) is null : session.Domain == ownHost,
            $"dmuc-probe-{++_probes}");
        if (pings.Count == 0) return;
        _log.Info("Room {0}: checking that its {1} occupant sessions on this node's server are still there", _room, pings.Count);
        _sends.Send(pings);
    }

    /// <summary>
    /// Each replica host whose users the room recovered, and that no link of this life has reached yet, is asked for a netjoin as
    /// soon as this node names its node: the replica (a next life of it, if its node restarted too) relearns them and checks their
    /// sessions, so those gone meanwhile leave although nobody in the room says anything (docs/protocol/netjoin.md §5). Not before
    /// the naming: a link to a host without a named node would count it as without a node and let its users go. Looked at every
    /// <see cref="HostNamingLook"/> for <see cref="HostNamingWait"/> after the recovery.
    /// </summary>
    private void AskHostsWithUsersFromBeforeToRelearn()
    {
        var waiting = false;
        foreach (var host in _primary.HostsWithUsersFromBefore())
        {
            if (!Context.Child(ReplicaLink.NameFor(host)).IsNobody()) continue;
            if (_hosts.ReplicaNodeFor(host) is null) waiting = true;
            else LinkTo(host).Tell(ReplicaLink.AskToRejoin.Instance);
        }
        if (!waiting || Stopwatch.GetElapsedTime(_recoveryStarted) > HostNamingWait) Timers.Cancel(LinkHostsWithUsersFromBefore.Instance);
    }

    private void HandleAdminDestroy(DestroyRoomAsAdmin destroy)
    {
        var existed = _primary.State.Exists;
        var replyTo = Sender;
        Handle(new DestroyRoom(destroy.Reason, null, DateTimeOffset.UtcNow),
            afterSent: () => replyTo.Tell(new AdminDestroyDone(_room, existed && !_primary.State.Exists)));
    }

    private void HandleAdminKick(KickOccupantAsAdmin kick)
    {
        var outcome = !_primary.State.Exists ? AdminKickOutcome.NoSuchRoom
            : _primary.State.OccupantNicks.Contains(kick.Nick) ? AdminKickOutcome.Kicked
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
        var inspection = new RoomInspection(_room, _primary.State.Exists, _primary.State.Config.Name ?? "", _primary.State.Sessions.ToList(),
            _primary.State.History, LastSequenceNr, [], ((ExtendedActorSystem)Context.System).Provider.DefaultAddress, _primary.Receipts);
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
        if (_primary.EnterRefused(refused, DateTimeOffset.UtcNow) is not { } decided) return;
        _log.Warning("Room {0}: {1} refused {2}; removing that occupant", _room, refused.ReplicaHost, refused.Occupant);
        Commit(decided);
    }

    /// <summary>
    /// A replica's receipt: journaled now, or the newest of its host once due (<see cref="ReceiptJournaling"/>), so that the
    /// room knows after its own restart what a replica node that crashed meanwhile had delivered.
    /// </summary>
    private void HandleReceipt(DeliveryReceipt receipt) => KeepReceipt(_primary.Delivered(receipt, DateTimeOffset.UtcNow));

    /// <summary>A receipt journaled now, or its host's newest once due.</summary>
    private void KeepReceipt(RelayDelivered delivered)
    {
        if (delivered.Journaled) PersistWithoutSends(delivered);
        else if (_primary.ReceiptDueAt(delivered.Relay) is { } dueAt && !Timers.IsTimerActive(new ReceiptDue(delivered.Relay)))
            Timers.StartSingleTimer(new ReceiptDue(delivered.Relay), new ReceiptDue(delivered.Relay),
                TimeSpan.FromTicks(Math.Max(0, (dueAt - DateTimeOffset.UtcNow).Ticks)));
    }

    /// <summary>
    /// The own host's receipt (<see cref="PrimaryRoom.OwnHostHandedOver"/>): once the sink's stream took what the room handed it,
    /// kept like a replica host's, so that a room recovered after a crash resends this node's server's sessions only what came after.
    /// Asked as the gathered sends go to the sink (<see cref="FlushSends"/>): what the receipt covers must be in it.
    /// </summary>
    private void CheckOwnHostWritten(DeliveryReceipt receipt) =>
        _sends.AllWritten().PipeTo(Self, success: written => new OwnHostWritten(receipt, written), failure: _ => new OwnHostWritten(receipt, false));

    private void HandleOwnHostWritten(OwnHostWritten written)
    {
        var (delivered, checkNext) = _primary.OwnHostChecked(written.Receipt, written.Written, DateTimeOffset.UtcNow);
        if (delivered is not null) KeepReceipt(delivered);
        if (checkNext is null) return;
        _ownHostCheckAfterFlush = checkNext;
        FlushSends();
    }

    /// <summary>
    /// After a recovery, before anything else goes out: what this node's server may never have been handed before the crash
    /// (<see cref="PrimaryRoom.ResendToOwnHost"/>). The server is asked what each session got (docs/protocol/delivered.md);
    /// everything else the room is told waits for its answer (at most <see cref="RoomActorSettings.OwnHostAnswerTimeout"/>),
    /// so that the resent messages go out before anything newer.
    /// </summary>
    private void AskWhatOwnHostGot()
    {
        _sends.LastDelivered(_room, _settings.OwnHostAnswerTimeout).PipeTo(Self,
            success: got => new OwnHostAnswered(got), failure: _ => new OwnHostAnswered(null));
        BecomeStacked(() =>
        {
            Command<OwnHostAnswered>(answered =>
            {
                UnbecomeStacked();
                ResendToOwnHost(answered.LastDelivered);
                ProbeLocalSessions();
                Stash.UnstashAll();
            });
            CommandAny(_ => Stash.Stash());
        });
    }

    private void ResendToOwnHost(LastDelivered? serverSays)
    {
        var resent = _primary.ResendToOwnHost(serverSays);
        _log.Info("Room {0}: resending {1} copies of the messages after its own host's last receipt ({2})", _room, resent.Count,
            serverSays is null ? "its server cannot say what each session got" : "those its server did not hand them");
        _sends.Send(resent);
    }

    private void JournalReceipt(string host)
    {
        if (_primary.JournalReceipt(host, DateTimeOffset.UtcNow) is { } delivered) PersistWithoutSends(delivered);
    }

    /// <summary>An event that sends nothing: written behind what is pending, and counted towards the next snapshot.</summary>
    private void PersistWithoutSends(RoomEvent @event) => PersistAsync(@event, _ =>
    {
        _durableEventsSinceSnapshot++;
        SnapshotIfDue();
    });

    /// <summary>A replica host's node left the cluster for good (its link found no node for a while): its occupants leave.</summary>
    private void HandleReplicaHostGone(ReplicaLink.ReplicaHostGone gone)
    {
        foreach (var decided in _primary.HostGone(gone.Host, DateTimeOffset.UtcNow)) Commit(decided);
    }

    /// <summary>
    /// A replica is back from a netsplit (docs/protocol/netjoin.md): what its users did alone is processed now,
    /// as sent when the replica served it, so every other host hears of it; then, after everything that causes is
    /// sent, the replica gets one resync batch with what it missed.
    /// </summary>
    private void HandleNetjoin(ResyncReplica resync)
    {
        if (_primary.Netjoin(resync, DateTimeOffset.UtcNow) is not { } outcome) return;
        foreach (var warning in outcome.Warnings) _log.Warning("Room {0}: {1}", _room, warning);
        foreach (var decided in outcome.Decisions) Commit(decided);
        _log.Info("Room {0}: netjoin {1} of {2} ({3} held stanzas and forwards processed); resync of {4} items", _room, resync.NetjoinId,
            resync.ReplicaHost, outcome.Decisions.Count, outcome.Resync.Items.Count);
        if (outcome.Told is { } told) PersistWithoutSends(told);
        var link = LinkTo(resync.ReplicaHost);
        DeferAsync(outcome.Resync, link.Tell);
    }

    /// <summary>The answer to an archive query goes out like any reply of the room, to a replica host in a batch.</summary>
    private void SendArchivePage(ArchiveReader.PageRead page)
    {
        _archiveReadsPending--;
        ScheduleIdleCheck();
        SendWhenEarlierWritesAreDone(_primary.PlanOf(page.Deliveries), afterSent: null);
    }

    /// <summary>A stanza that waited for the archive (a moderation of a message older than the room's memory) is handled again.</summary>
    private void HandleWithArchiveAnswer(ArchiveReader.LookedUp lookedUp)
    {
        _archiveReadsPending--;
        Handle(lookedUp.Command with { Now = DateTimeOffset.UtcNow });
    }

    /// <summary>
    /// Shows a split host's occupants as away, or as they are again once it rejoined (§4.11.1 MAY, when
    /// configured). Behind every write still pending, so it never overtakes what the room decided before.
    /// </summary>
    private void ShowSplitHost(Func<IReadOnlyList<Delivery>> presences)
    {
        if (!_showSplitUsersAway) return;
        SendWhenEarlierWritesAreDone(_primary.PlanOf(presences()), afterSent: null);
    }

    /// <returns>What the room decided (already applied, and sent or to be sent once written).</returns>
    private Decision Handle(RoomCommand command, Action? afterSent = null, bool serverBehind = false)
    {
        var decided = _primary.Decide(command, serverBehind: serverBehind);
        Commit(decided, afterSent);
        return decided.Decision;
    }

    /// <summary>Persists a decision's durable events, then sends what it decided; a decision without any is sent behind the writes still pending.</summary>
    private void Commit(Decided decided, Action? afterSent = null)
    {
        var (decision, outgoing) = (decided.Decision, decided.Outgoing);
        _metrics.Decided(decided.Command, decision);
        if (decided.RefusedUnderLoad) _metrics.RefusedUnderLoad();
        var durable = decision.Events.Where(e => e.IsDurable).ToList();
        if (durable.Count == 0)
        {
            SendWhenEarlierWritesAreDone(outgoing, afterSent);
        }
        else
        {
            durable.AddRange(_primary.ReceiptsRidingAlong(DateTimeOffset.UtcNow));
            var written = 0;
            var writeStarted = Stopwatch.GetTimestamp();
            var localBytes = _sends.BytesToSend(outgoing.Plan.Local);
            _localBytesAwaitingWrite += localBytes;
            PersistAllAsync(durable, _ =>
            {
                if (++written < durable.Count) return;
                _metrics.JournalWritten(writeStarted);
                _localBytesGathered += localBytes;
                Send(outgoing);
                _ownHostCheckAfterFlush = _primary.OwnHostHandedOver(decided) ?? _ownHostCheckAfterFlush;
                AfterSent(afterSent);
                _durableEventsSinceSnapshot += durable.Count;
                SnapshotIfDue();
            });
        }
        // Behind the writes still pending, so that the archive holds every message the room echoed before the query.
        if (decision.ArchiveRead is not null || decision.ArchiveLookup is not null)
            DeferAsync(decision, asking =>
            {
                _archiveReadsPending++;
                ArchiveReader.Of(Context, PersistenceId, _options.ArchiveRetention).Tell(asking.ArchiveRead is { } query
                    ? new ArchiveReader.ReadPage(query, LastSequenceNr)
                    : new ArchiveReader.LookUp((HandleStanza)decided.Command, asking.ArchiveLookup!, LastSequenceNr));
            });
        PublishListingIfChanged();
        _gauge.Observe(_primary.State, _hosts);
        ScheduleIdleCheck();
    }

    /// <summary>
    /// Whether a host's users are reached through a replica link. Until this node's view of the cluster has the primary
    /// (right after a restart), every host but its own is taken as one: sent through its own server, a replica host's
    /// users would be reached over s2s, whose bounces would make the room remove them. For the same reason a host this
    /// room has a link to stays one while its node is gone (crashed, not yet back): its batches are held for the
    /// netjoin, not sent over s2s, until the room lets that host's users go (<see cref="PrimaryRoom.HostGone"/>). So does
    /// one whose replica sent the room receipts, before a restarted primary has named its node again
    /// (<see cref="PrimaryRoom.WasServedByReplica"/>).
    /// </summary>
    /// <remarks>Asked once per delivery: the room's own host, most of them, is answered before any lookup.</remarks>
    private bool IsReplicaHost(string host) =>
        host != _hosts.OwnHost
        && (_hosts.ReplicaNodeFor(host) is not null || (_hosts.OwnHost is not null && _hosts.PrimaryNode is null)
            || !Context.Child(ReplicaLink.NameFor(host)).IsNobody() || _primary.WasServedByReplica(host));

    /// <summary>Local occupants get their stanzas from here; each replica host gets one batch.</summary>
    private void Send(Outgoing outgoing) => ReplicaLink.Dispatch(Context, _room, outgoing, _sends, _hosts, _primary.HasUsersFromBefore);

    /// <summary>The room's link to <paramref name="host"/>; one started now tells the host's replica whether the room recovered users of it.</summary>
    private IActorRef LinkTo(string host) => ReplicaLink.LinkTo(Context, _room, host, _hosts, _primary.HasUsersFromBefore);

    private void SendWhenEarlierWritesAreDone(Outgoing outgoing, Action? afterSent)
    {
        if (outgoing.IsEmpty && afterSent is null) return;
        DeferAsync(outgoing, planned =>
        {
            Send(planned);
            AfterSent(afterSent);
        });
    }

    /// <summary>What waits for the sends (a reply that they are done) waits until they are handed to the sink.</summary>
    private void AfterSent(Action? afterSent)
    {
        if (afterSent is null) return;
        FlushSends();
        afterSent();
    }

    private void FlushSends()
    {
        _sends.Flush();
        _localBytesAwaitingWrite -= _localBytesGathered;
        _localBytesGathered = 0;
        foreach (var receipt in _receiptsAwaitingFlush) receipt.Settle();
        _receiptsAwaitingFlush.Clear();
        if (_ownHostCheckAfterFlush is not { } ownHost) return;
        _ownHostCheckAfterFlush = null;
        CheckOwnHostWritten(ownHost);
    }

    private void HandleShutdown()
    {
        var replyTo = Sender;
        Handle(new ShutDownRoom(DateTimeOffset.UtcNow), afterSent: () => replyTo.Tell(Done.Instance));
    }

    /// <summary>
    /// Asks the archive's reader whether retention expired messages beyond what the room recorded, and carries on with
    /// a snapshot or a journal trim that failed before: in a quiet room nothing else would ever retry them.
    /// </summary>
    private void CheckArchiveExpiry()
    {
        SnapshotIfDue();
        if (!_snapshotInFlight) TrimJournal();
        if (_primary.State.Exists)
            ArchiveReader.Of(Context, PersistenceId, _options.ArchiveRetention).Tell(new ArchiveReader.FindExpired(LastSequenceNr, _primary.State.ArchiveExpiredThrough));
    }

    /// <summary>
    /// Deletes the journal's events up to the newest expired message, as far as the latest snapshot covers them: the
    /// journal only ever loses a prefix (Akka.Persistence), and recovery starts from that snapshot.
    /// </summary>
    private void TrimJournal()
    {
        var through = Math.Min(_snapshotSequenceNr, _primary.State.ArchiveExpiredThrough);
        if (through <= _journalTrimmedThrough) return;
        _journalTrimmedThrough = through;
        DeleteMessages(through);
    }

    private void SnapshotIfDue()
    {
        // Expired messages wait for a snapshot that covers them before their events can go.
        var expiryToTrim = _primary.State.ArchiveExpiredThrough > _snapshotSequenceNr;
        // One snapshot at a time. Under sustained load the snapshot store (which on SQLite shares the single
        // writer with the journal) falls behind; queued snapshots are stale by the time they are written and
        // are lost at shutdown, leaving recovery to replay most of the journal.
        if ((_durableEventsSinceSnapshot < _settings.SnapshotEvery && !expiryToTrim) || _snapshotInFlight) return;
        _durableEventsSinceSnapshot = 0;
        _snapshotInFlight = true;
        // The state is applied as decided, ahead of the writes: saved now, the snapshot would hold decisions its sequence number
        // does not cover, and a recovery would apply them twice (a message twice in the history). Saved once all it holds is written.
        DeferAsync(_primary.State.ToSnapshot(), SaveSnapshot);
    }

    private void PublishListingIfChanged()
    {
        var changed = new RoomListingChanged(_room, _primary.State.Config.Name ?? "", _primary.State.OccupantCount,
            _primary.State.Exists && _primary.State.Config.Public, _primary.State.Exists, _primary.State.Config.Persistent);
        if (changed == _lastListing) return;
        _lastListing = changed;
        _directory.Tell(changed);
    }

    private bool CanPassivate => _primary.State.CanPassivate && _archiveReadsPending == 0;

    private void ScheduleIdleCheck()
    {
        if (CanPassivate)
            Timers.StartSingleTimer(IdleCheck.Instance, IdleCheck.Instance, _settings.IdleTimeout);
        else
            Timers.Cancel(IdleCheck.Instance);
    }

    /// <summary>
    /// A sharded room asks its shard, which holds back what arrives for the room until it has stopped and then starts it
    /// again with that mail; a room of the node's own directory asks the directory (<see cref="RoomIdle"/>).
    /// </summary>
    private void ReportIdleIfPassivatable()
    {
        if (!CanPassivate) return;
        if (_placement == RoomPlacement.Sharded) Context.Parent.Tell(new Passivate(PassivateRoom.Instance));
        else _directory.Tell(new RoomIdle(_room));
    }

    private void StopIfStillIdle()
    {
        // Deferred so that replies still waiting for a write go out before the room stops.
        DeferAsync(StopIfIdle.Instance, _ =>
        {
            if (CanPassivate) Context.Stop(Self);
            else _directory.Tell(new RoomBusyAgain(_room));
        });
    }

    /// <summary>A host's receipt that waited is due in the journal.</summary>
    private sealed record ReceiptDue(string Host);

    /// <summary>Whether the sink's stream took everything handed to it up to <paramref name="Receipt"/>'s message.</summary>
    private sealed record OwnHostWritten(DeliveryReceipt Receipt, bool Written);

    /// <summary>What this node's server says each session got, or null: it cannot say (<see cref="IStanzaSink.LastDelivered"/>).</summary>
    private sealed record OwnHostAnswered(LastDelivered? LastDelivered);

    private sealed class IdleCheck
    {
        public static readonly IdleCheck Instance = new();
    }

    private sealed class ArchiveExpiryCheck
    {
        public static readonly ArchiveExpiryCheck Instance = new();
    }

    private sealed class LinkHostsWithUsersFromBefore
    {
        public static readonly LinkHostsWithUsersFromBefore Instance = new();
    }

    private static readonly TimeSpan HostNamingLook = TimeSpan.FromSeconds(1);
    // A restarted primary may wait for the cluster to take it in (docs/protocol/netjoin.md §5, FirstSeedPatience) before it names anyone.
    private static readonly TimeSpan HostNamingWait = TimeSpan.FromMinutes(2);
}

public sealed record RoomActorSettings(int SnapshotEvery, TimeSpan IdleTimeout)
{
    /// <summary>How long a room recovered after a crash waits for its server to say what each session got (docs/protocol/delivered.md).</summary>
    public TimeSpan OwnHostAnswerTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a live room checks its archive for messages retention expired (when the service sets retention).</summary>
    public TimeSpan ArchiveExpiryCheckInterval { get; init; } = TimeSpan.FromMinutes(10);

    public static readonly RoomActorSettings Default = new(SnapshotEvery: 500, IdleTimeout: TimeSpan.FromSeconds(30));
}
