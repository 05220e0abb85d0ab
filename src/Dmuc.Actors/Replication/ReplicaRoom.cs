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
    private readonly IStanzaSink _sink;
    private readonly ReplicaRoomGauge _gauge;
    private readonly ReplicaSync _sync;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Local users' stanzas that arrive while a netjoin is under way wait for its outcome (linked, or split again).
    private readonly Queue<XElement> _waitingForNetjoin = new();
    // What this replica forwarded and the room has not acknowledged yet; its session names this life of the replica.
    private readonly ForwardWindow _forwards = new(Guid.NewGuid().ToString("N")[..12]);
    private long _probes;
    private readonly long _reportPartBytes = ReplicationSettings.Of(Context.System).ResyncPartBytes;
    // How long a relearnt user's session check waits for the ping's answer: as long as the link's own ping does.
    private readonly TimeSpan _checkTimeout = ReplicationSettings.Of(Context.System).PingTimeout;
    // The last receipt the primary was sent, and whether the next waits for the server's stream to take what it covers.
    private DeliveryReceipt? _lastReceipt;
    private bool _receiptAwaitingWrite;

    /// <summary>
    /// After a receipt, the next waits this long: a busy room sends a few a second, not one per batch, and a quiet one sends
    /// each at once. What a crash can make the host's users get twice is what was written within about this long before it.
    /// </summary>
    private static readonly TimeSpan ReceiptPause = TimeSpan.FromMilliseconds(20);

    /// <summary>When the server's stream could not say a receipt's stanzas were written (it was down): tried again after this.</summary>
    private static readonly TimeSpan ReceiptRetry = TimeSpan.FromSeconds(1);

    public ReplicaRoom(Jid room, ClusterHosts hosts, IStanzaSink sink)
        : base(new LinkKeepalive(ReplicationSettings.Of(Context.System), DmucMetrics.Of(Context.System).TrackLink(room, LinkEnd.Replica)),
            keepsAlive: room.Local is not null)
    {
        _hosts = hosts;
        _sink = sink;
        var settings = ReplicationSettings.Of(Context.System);
        _state = new ReplicaRoomState(room, hosts.OwnHost ?? throw new InvalidOperationException("a replica needs its host domain"),
            serving: settings.Split);
        _gauge = DmucMetrics.Of(Context.System).TrackReplicaRoom(() => _state.LocalOccupants.Count);
        _sync = new ReplicaSync(_state);

        Receive<RouteStanza>(route => HandleStanzaFromLocalUser(route.Stanza));
        Receive<ReplicaBatch>(HandleBatchFromPrimary);
        Receive<KeepalivePing>(HandlePingFromPrimary);
        // The primary answers this replica's pings directly, not through the directory: only the proven primary may.
        Receive<KeepalivePong>(_ => _hosts.IsPrimaryNode(Sender.Path.Address), HandlePongFromPrimary);
        Receive<RequestNetjoin>(_ => HandleNetjoinRequest());
        Receive<ForwardsAcknowledged>(ack =>
        {
            HeardFromPrimary();
            Acknowledged(ack.Ack);
        });
        Receive<ShutDownRooms>(_ => HandleShutdown());
        Receive<ReceiptWritten>(HandleReceiptWritten);
        Receive<ReceiptDue>(_ => SendReceiptIfDue());
        Receive<CheckOccupants>(_ => ProbeLocalOccupants());
        Receive<SessionCheckUnanswered>(unanswered =>
        {
            foreach (var error in _state.CheckUnanswered(unanswered.CheckId))
            {
                _log.Info("Replica of {0}: {1} did not answer the room's ping; the room removes them", _state.Room, error.Attribute("from")?.Value);
                RelayToPrimary(error);
            }
        });
        Receive<InspectReplica>(_ => Sender.Tell(new ReplicaInspection(_state.Room, _state.LastSequence,
            _state.LocalOccupants.ToDictionary(), _state.Roster.Values.ToList(), _state.History.Count(), Keepalive.State,
            Keepalive.SplitSince, Keepalive.LastRtt, Keepalive.AverageRtt, _state.HeldDuringSplit.Count, _state.LastStanzaId,
            _forwards.Count)));
    }

    public static Props Props(Jid room, ClusterHosts hosts, IStanzaSink sink) =>
        Akka.Actor.Props.Create(() => new ReplicaRoom(room, hosts, sink));

    protected override void PostStop()
    {
        base.PostStop();
        _gauge.Dispose();
    }

    private void HandleStanzaFromLocalUser(XElement stanza)
    {
        // The answer to the room's check of a user it relearnt is the replica's own; the primary never asked.
        if (_state.TakeCheckAnswer(stanza) is { } answer)
        {
            _sink.Send(answer.Deliveries);
            SendReceiptIfDue();
            if (answer.ToRoom is { } gone)
            {
                _log.Info("Replica of {0}: {1} is gone by its server's answer to the room's ping; the room removes them", _state.Room,
                    gone.Attribute("from")?.Value);
                RelayToPrimary(gone);
            }
            return;
        }
        RelayToPrimary(stanza);
    }

    private void RelayToPrimary(XElement stanza)
    {
        switch (Keepalive.State)
        {
            case LinkState.Rejoining:
                _waitingForNetjoin.Enqueue(stanza);
                break;
            case LinkState.Split:
                _sink.Send(_state.ServeDuringSplit(stanza, DateTimeOffset.UtcNow));
                break;
            default:
                _state.RecordLocalStanza(stanza);
                if (!KeepsAlive)
                {
                    if (!ForwardToPrimary(Context, stanza, _hosts, _sink, Self)) MarkSplit("the primary has no node in the cluster");
                    break;
                }
                // Numbered and kept until the room acknowledges it: a forward lost in a cut is resent at the netjoin.
                var now = DateTimeOffset.UtcNow;
                var waitedBefore = _forwards.Count > 0;
                var number = _forwards.Forward(stanza, now);
                if (!ForwardToPrimary(Context, stanza, _hosts, _sink, Self, number))
                {
                    MarkSplit("the primary has no node in the cluster");
                    break;
                }
                if (waitedBefore) break;
                Keepalive.AwaitingAnswerSince(_forwards.OldestSentAt);
                CheckKeepaliveAgain(now);
                break;
        }
    }

    /// <summary>The room processed our forwards up to the acknowledged one: they are no longer ours to resend.</summary>
    private void Acknowledged(ForwardAck? ack)
    {
        if (ack is null || !_forwards.Acknowledge(ack)) return;
        Keepalive.AwaitingAnswerSince(_forwards.OldestSentAt);
    }

    /// <summary>
    /// Relays a local user's stanza to the primary. Without a primary node to relay to (a bounce, XEP-0282 §4.11.1), a
    /// stanza to the service itself is answered with an error and false is returned; a room's numbered forward waits in
    /// its window for the netjoin instead.
    /// </summary>
    internal static bool ForwardToPrimary(IActorRefFactory factory, XElement stanza, ClusterHosts hosts, IStanzaSink sink, IActorRef sender,
        ForwardNumber? number = null)
    {
        if (hosts.PrimaryNode is { } primary)
        {
            RoomDirectory.At(factory, primary).Tell(new ForwardedStanza(stanza, hosts.OwnHost!, number), sender);
            return true;
        }
        if (number is not null) return false;
        var type = stanza.Attribute("type")?.Value;
        if (type is "error" or "result" || !Jid.TryParse(stanza.Attribute("from")?.Value, out var from)) return false;
        sink.Send([ReplicaRoomState.ErrorTo(from, stanza, StanzaErrorCondition.RecipientUnavailable, "the room's primary node cannot be reached")]);
        return false;
    }

    private void HandleBatchFromPrimary(ReplicaBatch batch)
    {
        HeardFromPrimary();
        // What the room says it processed holds whatever this batch is (one the netjoin makes us ignore too).
        Acknowledged(batch.Ack);
        if (batch.ResyncOf is not null)
        {
            HandleResync(batch);
            return;
        }
        var (verdict, why) = _sync.Judge(batch, Keepalive.State);
        switch (verdict)
        {
            case BatchVerdict.Apply:
                DeliverApplied(_state.ApplyBatch(batch), batch.Room);
                break;
            case BatchVerdict.Resync:
                _log.Warning("Replica of {0}: {1}; resyncing", batch.Room, why);
                StartNetjoin();
                break;
        }
    }

    private void DeliverApplied((IReadOnlyList<Delivery> Deliveries, IReadOnlyList<Jid> Refused) applied, Jid room)
    {
        _sink.Send(applied.Deliveries);
        foreach (var occupant in applied.Refused)
        {
            _log.Warning("Replica of {0}: refused {1}, who never sent it directed presence", room, occupant);
            Sender.Tell(new EnterRefused(room, occupant, _hosts.OwnHost!));
        }
        foreach (var check in _state.PendingChecks.Where(check => !Timers.IsTimerActive(check)))
            Timers.StartSingleTimer(check, new SessionCheckUnanswered(check), _checkTimeout);
        SendReceiptIfDue();
    }

    /// <summary>
    /// Tells the primary, once this node's server has taken them, what its users were sent (<see cref="DeliveryReceipt"/>): should
    /// this node crash, its next incarnation's netjoin resumes from there instead of sending them the room's history again.
    /// One receipt at a time, only while in step, only when it says something new, and not for an empty replica.
    /// </summary>
    private void SendReceiptIfDue()
    {
        if (!KeepsAlive || !Keepalive.IsLinked || _receiptAwaitingWrite || Timers.IsTimerActive(ReceiptDue.Instance)) return;
        var receipt = _state.Receipt();
        if (receipt.Sessions.Count == 0 || (_lastReceipt is not null && receipt.SameAs(_lastReceipt))) return;
        _receiptAwaitingWrite = true;
        _sink.AllWritten().PipeTo(Self, success: written => new ReceiptWritten(receipt, written), failure: _ => new ReceiptWritten(receipt, false));
    }

    private void HandleReceiptWritten(ReceiptWritten written)
    {
        _receiptAwaitingWrite = false;
        if (written.Written && Keepalive.IsLinked && _hosts.PrimaryNode is { } primary)
        {
            RoomDirectory.At(Context, primary).Tell(written.Receipt, Self);
            _lastReceipt = written.Receipt;
        }
        Timers.StartSingleTimer(ReceiptDue.Instance, ReceiptDue.Instance, written.Written ? ReceiptPause : ReceiptRetry);
    }

    /// <summary>The primary's answer to our netjoin, in one or more parts, from what we reported to the room as it is.</summary>
    private void HandleResync(ReplicaBatch resync)
    {
        if (_sync.TakeResync(resync, Keepalive.State) is not { } part)
        {
            _log.Debug("Replica of {0}: ignored resync {1} part {2} (waiting for {3})", resync.Room, resync.ResyncOf, resync.Sequence,
                _sync.NetjoinId ?? "none");
            return;
        }
        DeliverApplied((part.Deliveries, part.Refused), resync.Room);
        if (!part.Complete)
        {
            // A resync in many parts may take longer than a ping's wait; each part shows the netjoin is still answered.
            Keepalive.RejoiningProgressed(DateTimeOffset.UtcNow);
            return;
        }
        // The netjoin carried every forward still waiting; should one remain, it waits afresh from now.
        Keepalive.AwaitingAnswerSince(_forwards.Count > 0 ? DateTimeOffset.UtcNow : null);
        _log.Info("Replica of {Room}: {LinkState} to its primary again (netjoin {NetjoinId}, split since {SplitSince})", resync.Room, LinkState.Linked,
            resync.ResyncOf, Keepalive.SplitSince?.ToString("O") ?? "-");
        Keepalive.MarkLinked(DateTimeOffset.UtcNow);
        SendReceiptIfDue();
        ReleaseWaitingStanzas();
    }

    private void HandlePingFromPrimary(KeepalivePing ping)
    {
        Sender.Tell(new KeepalivePong(ping.Room, ping.ReplicaHost, ping.Id));
        HeardFromPrimary();
        ResyncIfOutOfStep(ping.LastSentSequence);
    }

    private void HandlePongFromPrimary(KeepalivePong pong)
    {
        PongReceived(pong);
        HeardFromPrimary();
        ResyncIfOutOfStep(pong.LastSentSequence);
    }

    /// <summary>The primary's ping or pong says which batch it sent last: we resync when that shows us out of step.</summary>
    private void ResyncIfOutOfStep(long? primarySentUpTo)
    {
        if (_sync.OutOfStep(primarySentUpTo, Keepalive.State) is not { } why) return;
        _log.Warning("Replica of {0}: {1}; resyncing", _state.Room, why);
        StartNetjoin();
    }

    /// <summary>The primary holds us split and heard from us: we may have missed batches, so resync.</summary>
    private void HandleNetjoinRequest()
    {
        HeardFromPrimary();
        if (Keepalive.State != LinkState.Rejoining) StartNetjoin();
    }

    /// <summary>Any word from the primary: across a split link it means the primary is back.</summary>
    private void HeardFromPrimary()
    {
        Keepalive.Heard(DateTimeOffset.UtcNow);
        if (KeepsAlive && Keepalive.State == LinkState.Split) StartNetjoin();
    }

    /// <summary>
    /// Our half of the netjoin: what our users did alone and what we have, in one message the primary answers
    /// with one resync batch. Until then our users' stanzas wait, and batches are ignored (the resync covers them).
    /// </summary>
    private void StartNetjoin()
    {
        var resync = _sync.StartNetjoin(_hosts.OwnHost!, _forwards.Report());
        // The primary may have restarted and forgotten the last receipt: once in step again, it is sent anew.
        _lastReceipt = null;
        if (_hosts.PrimaryNode is not { } primary)
        {
            MarkSplit("the primary has no node in the cluster");
            return;
        }
        foreach (var part in resync.InParts(_reportPartBytes)) RoomDirectory.At(Context, primary).Tell(part, Self);
        _log.Info("Replica of {0}: netjoin {1} started (split since {2}); reported batch {3}, {4} held stanzas and {5} unacknowledged forwards",
            _state.Room, resync.NetjoinId, Keepalive.SplitSince?.ToString("O") ?? "-", _state.LastSequence, resync.HeldStanzas.Count, _forwards.Count);
        Keepalive.MarkRejoining(DateTimeOffset.UtcNow);
        CheckKeepaliveAgain(DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// This node's XMPP server is back and may have lost its sessions: each local occupant is pinged from the room
    /// (XEP-0199). The server answers for a session it lost with an error, which reaches the room like any stanza of
    /// the user (forwarded, or while split served as the user's leave and held), and the room removes the ghost (333).
    /// </summary>
    private void ProbeLocalOccupants()
    {
        if (_state.LocalOccupants.Count == 0) return;
        var id = $"dmuc-probe-{++_probes}";
        _log.Info("Replica of {0}: checking that its {1} local occupant sessions are still there", _state.Room, _state.LocalOccupants.Count);
        _sink.Send(_state.LocalOccupants.Keys.Select(session => RoomState.ProbeSession(_state.Room, session, id)).ToList());
    }

    protected override void OnKeepaliveDue(KeepaliveAction action, DateTimeOffset now)
    {
        switch (action)
        {
            case KeepaliveAction.MarkSplit:
                MarkSplit(Keepalive.State == LinkState.Rejoining ? "the netjoin got no answer"
                    : _forwards.OldestSentAt is { } oldest && now - oldest >= Keepalive.AnswerTimeout ? "a forward was not acknowledged in time"
                    : "ping not answered in time");
                break;
            // A replica nobody is in has nothing to lose: it pings only for its occupants or to end a split.
            case KeepaliveAction.Ping when _state.LocalOccupants.Count > 0 || !Keepalive.IsLinked:
                if (_hosts.PrimaryNode is { } primary)
                    RoomDirectory.At(Context, primary).Tell(new KeepalivePing(_state.Room, _hosts.OwnHost!, Keepalive.StartPing(now)), Self);
                else
                    MarkSplit("the primary has no node in the cluster");
                break;
        }
    }

    protected override void OnSplit(string reason, DateTimeOffset now)
    {
        _sync.NetjoinAbandoned();
        _log.Warning("Replica of {Room}: {LinkState} from its primary ({Reason}); serving its users locally", _state.Room, Keepalive.State, reason);
        _sink.Send(_state.MarkSplit());
        ReleaseWaitingStanzas();
    }

    private void ReleaseWaitingStanzas()
    {
        while (_waitingForNetjoin.TryDequeue(out var stanza)) RelayToPrimary(stanza);
    }

    /// <summary>
    /// This node is stopping: local occupants are told (332) and the primary hears that they left, so the
    /// rest of the room does not keep ghosts of them. From then on the replica delivers nothing: the room's own
    /// announcement of those departures would be a second unavailable presence for each of them.
    /// </summary>
    private void HandleShutdown()
    {
        Become(() =>
        {
            Receive<ShutDownRooms>(_ => Sender.Tell(Done.Instance));
            ReceiveAny(_ => { });
        });
        var deliveries = new List<Delivery>();
        foreach (var (occupant, nick) in _state.LocalOccupants)
        {
            var occupantJid = _state.Room.WithResource(nick).ToString();
            ForwardToPrimary(Context, new XElement(Ns.Client + "presence",
                new XAttribute("type", "unavailable"), new XAttribute("from", occupant.ToString()),
                new XAttribute("to", occupantJid)), _hosts, _sink, Self);
            deliveries.Add(new Delivery(occupant, new XElement(Ns.Client + "presence",
                new XAttribute("from", occupantJid), new XAttribute("type", "unavailable"),
                new XElement(Ns.MucUser + "x",
                    new XElement(Ns.MucUser + "item", new XAttribute("affiliation", "none"), new XAttribute("role", "none")),
                    new XElement(Ns.MucUser + "status", new XAttribute("code", "110")),
                    new XElement(Ns.MucUser + "status", new XAttribute("code", "332"))))));
        }
        _sink.Send(deliveries);
        Sender.Tell(Done.Instance);
    }

    private sealed record SessionCheckUnanswered(string CheckId);

    /// <summary>Whether the server's stream took everything sent before <paramref name="Receipt"/> was taken.</summary>
    private sealed record ReceiptWritten(DeliveryReceipt Receipt, bool Written);

    private sealed class ReceiptDue
    {
        public static readonly ReceiptDue Instance = new();
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
