using System.Xml.Linq;
using Akka;
using Akka.Actor;
using Akka.Event;
using Dmuc.Actors.Component;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Telemetry;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Replication;

/// <summary>
/// The replica of one room on a node that is not the room's primary: relays local users' stanzas to the
/// primary unchanged (XEP-0282 §4.8) and fans the primary's batches out to local occupants (§4.9). Pings the
/// primary when it has heard nothing for a while (§4.10); while split (§4.11.1) serves its users itself what
/// <see cref="SplitServing"/> allows, refuses the rest with an error, and on the primary's return runs the netjoin.
/// </summary>
public sealed class ReplicaRoom : KeepaliveActor
{
    private readonly ReplicaRoomState _state;
    private readonly ClusterHosts _hosts;
    // What the room sends its local users, gathered over the batches it applies back to back (GatheredSends).
    private readonly GatheredSends _sends;
    // Whether the command being handled is a batch with an entry in it (a join): its sends wait for the batches of the joins behind it.
    private bool _handlingEntry;
    // The server's receipts of what local users sent, until the primary has it (stream-ack.md), and those settled behind gathered sends.
    private readonly ReplicaStreamReceipts _streamReceipts = new();
    private readonly List<StreamReceipt> _receiptsAwaitingFlush = [];
    // When the room's primary hears that this node's server is behind on what the batches send here, and that it caught up.
    private readonly ServerBehindWord _serverBehind = new();
    // Receipts of stanzas served to local users during a split, to mark served once what serving them sent is written.
    private readonly List<StreamReceipt> _servedAwaitingFlush = [];

    /// <summary>
    /// How long what a join's batch sends waits for more to gather. The primary's batches of a burst of joins reach this
    /// node one by one, each taken before the next has arrived, so flushing when the mailbox was read through would
    /// send each entrant its roster alone; within this window the roster presences of the entrants of consecutive joins
    /// leave as one multicast. A message gathered behind a join waits as long; one alone does not wait.
    /// </summary>
    private static readonly TimeSpan EntryGatherWindow = TimeSpan.FromMilliseconds(25);
    private readonly ReplicaRoomGauge _gauge;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly long _reportPartBytes = ReplicationSettings.Of(Context.System).ResyncPartBytes;
    // How long a relearnt user's session check waits for the ping's answer: as long as the link's own ping does.
    private readonly TimeSpan _checkTimeout = ReplicationSettings.Of(Context.System).PingTimeout;

    public ReplicaRoom(Jid room, ClusterHosts hosts, IStanzaSink sink)
        : base(new LinkKeepalive(ReplicationSettings.Of(Context.System), DmucMetrics.Of(Context.System).TrackLink(room, LinkEnd.Replica),
            keepsAlive: room.Local is not null))
    {
        _hosts = hosts;
        _sends = new GatheredSends(sink, AskForFlush);
        var settings = ReplicationSettings.Of(Context.System);
        _state = new ReplicaRoomState(room, hosts.OwnHost ?? throw new InvalidOperationException("a replica needs its host domain"),
            serving: settings.Split);
        _gauge = DmucMetrics.Of(Context.System).TrackReplicaRoom(() => _state.LocalOccupants.Count);

        Receive<GatheredSends.FlushDue>(_ =>
        {
            Timers.Cancel(GatheredSends.FlushDue.Instance);
            FlushSends();
        });
        Receive<RouteStanza>(HandleStanzaFromServer);
        Receive<ReplicaBatch>(batch =>
        {
            HeardFromPrimary(new BatchFromPrimary(batch, Keepalive.State, DateTimeOffset.UtcNow));
            LookAtServer();
        });
        Receive<LookAtServerAgain>(_ => LookAtServer());
        Receive<KeepalivePing>(ping =>
        {
            Sender.Tell(new KeepalivePong(ping.Room, ping.ReplicaHost, ping.Id));
            HeardFromPrimary(new KeepaliveFromPrimary(ping.LastSentSequence, Keepalive.State, ping.UsersBeforeLink));
        });
        // The primary answers this replica's pings directly, not through the directory: only the proven primary may.
        Receive<KeepalivePong>(_ => _hosts.IsPrimaryNode(Sender.Path.Address), pong =>
        {
            Keep(new PongArrived(pong.Id, DateTimeOffset.UtcNow));
            Handle(new KeepaliveFromPrimary(pong.LastSentSequence, Keepalive.State));
        });
        Receive<RequestNetjoin>(_ => HeardFromPrimary(new NetjoinRequested(Keepalive.State)));
        Receive<ClusterHostsWatcher.PrimaryNodeRemoved>(_ => Handle(new PrimaryNodeLeft(Keepalive.State)));
        Receive<ForwardsAcknowledged>(acknowledged => HeardFromPrimary(new AcknowledgementFromPrimary(acknowledged.Ack, Keepalive.State)));
        Receive<ShutDownRooms>(_ => HandleShutdown());
        Receive<ReceiptWritten>(written => Handle(new ReceiptWriteEnded(written.Receipt, written.Written, Keepalive.State)));
        Receive<ReceiptPauseTimer>(_ => Handle(new ReceiptPauseOver(Keepalive.State)));
        Receive<CheckOccupants>(_ => Handle(new LocalSessionsCheckDue(Keepalive.State)));
        Receive<OwnServerAnswered>(Handle);
        Receive<SessionCheckUnanswered>(unanswered => Handle(new SessionCheckTimedOut(unanswered.CheckId, Keepalive.State, DateTimeOffset.UtcNow)));
        Receive<InspectReplica>(_ => Sender.Tell(new ReplicaInspection(_state.Room, _state.LastSequence,
            _state.LocalOccupants.ToDictionary(), _state.Roster.Values.ToList(), _state.History.Count(), Keepalive.State,
            Keepalive.SplitSince, Keepalive.LastRtt, Keepalive.AverageRtt, _state.HeldDuringSplit.Count, _state.LastStanzaId,
            _state.UnacknowledgedForwards)));
    }

    public static Props Props(Jid room, ClusterHosts hosts, IStanzaSink sink) =>
        Akka.Actor.Props.Create(() => new ReplicaRoom(room, hosts, sink));

    /// <summary>
    /// A new replica knows nobody; a netjoin may bring it users its node's previous incarnation served. Their server says what it
    /// handed them (docs/protocol/delivered.md): asked now, ahead of the relearnt users' check on the same stream.
    /// </summary>
    protected override void PreStart()
    {
        base.PreStart();
        if (_state.KeepsInStep)
            _sends.LastDelivered(_state.Room, _checkTimeout).PipeTo(Self, success: said => new OwnServerAnswered(said), failure: _ => new OwnServerAnswered(null));
    }

    protected override void PostStop()
    {
        FlushSends();
        base.PostStop();
        _gauge.Dispose();
    }

    /// <summary>Any word from the primary proves the link carries traffic; across a split link it means the primary is back.</summary>
    private void HeardFromPrimary(ReplicaRoomCommand command)
    {
        Keep(new OtherEndHeard(DateTimeOffset.UtcNow));
        Handle(command);
    }

    /// <summary>A replica nobody is in has nothing to lose: it pings only to end a split.</summary>
    protected override bool NothingToLose => _state.LocalOccupants.Count == 0;

    /// <summary>Has the room decide what the command does and apply it, then sends what it decided.</summary>
    private void Handle(ReplicaRoomCommand command)
    {
        var waitingBefore = _state.OldestForwardSentAt;
        var outcome = _state.Handle(command);
        var now = DateTimeOffset.UtcNow;
        _handlingEntry = command is BatchFromPrimary { Batch.Items: var items } && items.Any(item => item.Enter is not null);
        _sends.Send(outcome.Deliveries);
        _handlingEntry = false;
        foreach (var occupant in outcome.Refused)
        {
            _log.Warning("Replica of {0}: refused {1}, who never sent it directed presence", _state.Room, occupant);
            Sender.Tell(new EnterRefused(_state.Room, occupant, _hosts.OwnHost!));
        }
        if (outcome.Events.OfType<LocalSessionsProbed>().Any())
            _log.Info("Replica of {0}: checking that its {1} local occupant sessions are still there", _state.Room, outcome.Deliveries.Count);
        foreach (var gone in outcome.SessionsGone)
            _log.Info("Replica of {0}: {1} did not prove its session to the room's ping; the room removes them", _state.Room, gone);
        foreach (var check in _state.PendingChecks.Where(check => !Timers.IsTimerActive(check)))
            Timers.StartSingleTimer(check, new SessionCheckUnanswered(check), _checkTimeout);
        if (outcome.Resync == ResyncStep.Ignored && command is BatchFromPrimary ignored)
            _log.Debug("Replica of {0}: ignored resync {1} part {2} (waiting for {3})", _state.Room, ignored.Batch.ResyncOf, ignored.Batch.Sequence,
                _state.NetjoinId ?? "none");
        // A resync in many parts may take longer than a ping's wait; each part shows the netjoin is still answered.
        if (outcome.Resync == ResyncStep.PartTaken) Keep(new ResyncProgressed(now));
        if (outcome.Resync == ResyncStep.NetjoinComplete && command is BatchFromPrimary resync) Rejoined(resync.Batch, now);
        Forward(outcome.Forwards);
        // A forward not acknowledged within the link's wait marks it split, as an unanswered ping does (a netjoin's end starts the wait afresh).
        if (outcome.Resync != ResyncStep.NetjoinComplete && _state.OldestForwardSentAt != waitingBefore) Keep(new AnswerAwaited(_state.OldestForwardSentAt, now));
        if (outcome.Netjoin is { } report) StartNetjoin(report, outcome.NetjoinWhy);
        if (outcome.ReceiptToWrite is { } toWrite)
            _sends.AllWritten().PipeTo(Self, success: written => new ReceiptWritten(toWrite, written), failure: _ => new ReceiptWritten(toWrite, false));
        if (outcome.ReceiptToSend is { } receipt) TellPrimary(receipt);
        if (outcome.ReceiptPause is { } pause) Timers.StartSingleTimer(ReceiptPauseTimer.Instance, ReceiptPauseTimer.Instance, pause);
        MarkServed(outcome.ServedAndHeld);
        SettleWhatIsNoLongerHeld();
    }

    /// <summary>
    /// Stanzas the replica served its users itself and holds for the room: should this node die before the room has them, the server
    /// is to hand them to its next life marked served (stream-ack.md §8), once their local deliveries are written (else the next life
    /// would hold what nobody saw).
    /// </summary>
    private void MarkServed(IEnumerable<XElement> held)
    {
        if (_streamReceipts.Count == 0) return;
        _servedAwaitingFlush.AddRange(_streamReceipts.Of(held));
        if (_sends.IsEmpty) MarkServedOnceWritten();
    }

    private void MarkServedOnceWritten()
    {
        if (_servedAwaitingFlush.Count == 0) return;
        var served = _servedAwaitingFlush.ToList();
        _servedAwaitingFlush.Clear();
        _sends.AllWritten().ContinueWith(written =>
        {
            if (written.IsCompletedSuccessfully && written.Result) served.ForEach(receipt => receipt.MarkServed());
        }, TaskScheduler.Default);
    }

    /// <summary>A local user's stanza, read from this node's stream; its receipt, when the server numbered it, waits for its outcome.</summary>
    private void HandleStanzaFromServer(RouteStanza route)
    {
        if (route.Receipt is { } receipt) _streamReceipts.Arrived(route.Stanza, receipt);
        Handle(new LocalStanzaArrived(route.Stanza, Keepalive.State, DateTimeOffset.UtcNow, route.Receipt?.Resent == true, route.Receipt?.ServedBefore == true));
    }

    /// <summary>
    /// A stanza the replica no longer holds has its durable outcome (<see cref="ReplicaStreamReceipts"/>); the server may forget it once
    /// what its outcome sends here is handed to the outbox.
    /// </summary>
    private void SettleWhatIsNoLongerHeld()
    {
        if (_streamReceipts.Count == 0) return;
        foreach (var receipt in _streamReceipts.NoLongerHeld(_state.Holds))
        {
            if (_sends.IsEmpty) receipt.Settle();
            else _receiptsAwaitingFlush.Add(receipt);
        }
    }

    private void FlushSends()
    {
        _sends.Flush();
        foreach (var receipt in _receiptsAwaitingFlush) receipt.Settle();
        _receiptsAwaitingFlush.Clear();
        MarkServedOnceWritten();
    }

    /// <summary>
    /// Relays local users' stanzas to the primary unchanged (XEP-0282 §4.8). A numbered forward that finds no primary node
    /// waits in the window for the netjoin: the link is split.
    /// </summary>
    private void Forward(IReadOnlyList<PrimaryForward> forwards)
    {
        foreach (var forward in forwards)
            if (!ForwardToPrimary(Context, forward.Stanza, _hosts, _sends, Self, forward.Number, forward.Resent)
                && forward.Number is not null)
                MarkSplit("the primary has no node in the cluster");
    }

    /// <summary>
    /// Relays a local user's stanza to the primary. Without a primary node to relay to (a bounce, XEP-0282 §4.11.1), a
    /// stanza to the service itself is answered with an error and false is returned; a room's numbered forward waits in
    /// its window for the netjoin instead.
    /// </summary>
    internal static bool ForwardToPrimary(IActorRefFactory factory, XElement stanza, ClusterHosts hosts, IStanzaSink sink, IActorRef sender,
        ForwardNumber? number = null, bool resent = false)
    {
        if (hosts.PrimaryNode is { } primary)
        {
            RoomDirectory.At(factory, primary).Tell(new ForwardedStanza(stanza, hosts.OwnHost!, number, resent), sender);
            return true;
        }
        if (number is not null) return false;
        AnswerUnavailable(sink, stanza, "the room's primary node cannot be reached");
        return false;
    }

    /// <summary>Answers a local user's stanza that cannot reach the primary with <c>recipient-unavailable</c> (an error or result gets nothing).</summary>
    internal static void AnswerUnavailable(IStanzaSink sink, XElement stanza, string why)
    {
        if (stanza.Attribute("type")?.Value is "error" or "result" || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return;
        sink.Send([ReplicaRoomState.ErrorTo(from, stanza, StanzaErrorCondition.RecipientUnavailable, why)]);
    }

    private void AskForFlush()
    {
        if (_handlingEntry) Timers.StartSingleTimer(GatheredSends.FlushDue.Instance, GatheredSends.FlushDue.Instance, EntryGatherWindow);
        else Self.Tell(GatheredSends.FlushDue.Instance);
    }

    /// <summary>
    /// What the primary's batches send here goes out through this node's server, whose users' own joins and messages the node refuses
    /// while it is behind; the room is told too, so that it stops taking them from every host (<see cref="RoomLoadShedding"/>), then
    /// that the server caught up. Without a primary node nothing is sent here to pile up: nothing to tell.
    /// </summary>
    private void LookAtServer()
    {
        if (_serverBehind.Looked(_sends.ServerBehind(), DateTimeOffset.UtcNow) is { } behind && _hosts.PrimaryNode is { } primary)
            RoomDirectory.At(Context, primary).Tell(new ServerBehind(_state.Room, _hosts.OwnHost!, behind), Self);
        if (_serverBehind.Behind && !Timers.IsTimerActive(LookAtServerAgain.Instance))
            Timers.StartSingleTimer(LookAtServerAgain.Instance, LookAtServerAgain.Instance, ServerBehindWord.Repeat);
    }

    /// <summary>Sends to the primary's room directory; without a primary node the link is split.</summary>
    private void TellPrimary(object message)
    {
        if (_hosts.PrimaryNode is { } primary) RoomDirectory.At(Context, primary).Tell(message, Self);
        else MarkSplit("the primary has no node in the cluster");
    }

    /// <summary>The netjoin's resync is complete: in step with the primary again.</summary>
    private void Rejoined(ReplicaBatch resync, DateTimeOffset now)
    {
        // The netjoin carried every forward still waiting; should one remain, it waits afresh from now.
        Keep(new AnswerAwaited(_state.UnacknowledgedForwards > 0 ? now : null, now));
        _log.Info("Replica of {Room}: {LinkState} to its primary again (netjoin {NetjoinId}, split since {SplitSince})", resync.Room, LinkState.Linked,
            resync.ResyncOf, Keepalive.SplitSince?.ToString("O") ?? "-");
        Keep(new NetjoinEnded(now));
    }

    /// <summary>Our half of the netjoin, in as many parts as the remoting frame needs; the link waits for its answer.</summary>
    private void StartNetjoin(ResyncReplica report, string? why)
    {
        if (why is not null) _log.Warning("Replica of {0}: {1}; resyncing", _state.Room, why);
        if (_hosts.PrimaryNode is not { } primary)
        {
            MarkSplit("the primary has no node in the cluster");
            return;
        }
        foreach (var part in report.InParts(_reportPartBytes)) RoomDirectory.At(Context, primary).Tell(part, Self);
        _log.Info("Replica of {0}: netjoin {1} started (split since {2}); reported batch {3}, {4} held stanzas and {5} unacknowledged forwards",
            _state.Room, report.NetjoinId, Keepalive.SplitSince?.ToString("O") ?? "-", _state.LastSequence, report.HeldStanzas.Count,
            report.Unacknowledged?.Stanzas.Count ?? 0);
        Keep(new NetjoinUnderWay(DateTimeOffset.UtcNow));
    }

    protected override void SendPing(string id, DateTimeOffset now) => TellPrimary(new KeepalivePing(_state.Room, _hosts.OwnHost!, id));

    protected override void OnSplit(string reason, DateTimeOffset now)
    {
        _log.Warning("Replica of {Room}: {LinkState} from its primary ({Reason}); serving its users locally", _state.Room, Keepalive.State, reason);
        Handle(new LinkSplit(now));
    }

    /// <summary>
    /// This node is stopping (<see cref="NodeStopping"/>). From then on the replica delivers nothing: the room's own
    /// announcement of its users' departures would be a second unavailable presence for each of them.
    /// </summary>
    private void HandleShutdown()
    {
        Become(() =>
        {
            Receive<ShutDownRooms>(_ => Sender.Tell(Done.Instance));
            ReceiveAny(_ => { });
        });
        Handle(new NodeStopping(Keepalive.State));
        FlushSends();
        Sender.Tell(Done.Instance);
    }

    private sealed record SessionCheckUnanswered(string CheckId);

    /// <summary>Whether the server's stream took everything sent before <paramref name="Receipt"/> was taken.</summary>
    private sealed record ReceiptWritten(DeliveryReceipt Receipt, bool Written);

    private sealed class ReceiptPauseTimer
    {
        public static readonly ReceiptPauseTimer Instance = new();
    }

    private sealed class LookAtServerAgain
    {
        public static readonly LookAtServerAgain Instance = new();
    }

    public sealed class InspectReplica
    {
        public static readonly InspectReplica Instance = new();
    }

    /// <param name="HeldStanzas">Local users' stanzas served during the split, still to reach the primary.</param>
    /// <param name="UnacknowledgedForwards">Forwards the room has not acknowledged yet.</param>
    public sealed record ReplicaInspection(Jid Room, long LastSequence, IReadOnlyDictionary<Jid, string> LocalOccupants,
        IReadOnlyList<RosterEntry> Roster, int HistoryLength, LinkState State, DateTimeOffset? SplitSince, TimeSpan? LastRtt, TimeSpan? AverageRtt,
        int HeldStanzas, string? LastStanzaId, int UnacknowledgedForwards = 0);
}
