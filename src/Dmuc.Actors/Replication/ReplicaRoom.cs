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
public sealed class ReplicaRoom : ReceiveActor, IWithTimers
{
    private readonly ReplicaRoomState _state;
    private readonly ClusterHosts _hosts;
    private readonly IStanzaSink _sink;
    private readonly LinkKeepalive _keepalive;
    private readonly ReplicaRoomGauge _gauge;
    // The service's own address has no room state to keep in step: its replies are taken as they come.
    private readonly bool _keepsAlive;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Local users' stanzas that arrive while a netjoin is under way wait for its outcome (linked, or split again).
    private readonly Queue<XElement> _waitingForNetjoin = new();
    // What this replica forwarded and the room has not acknowledged yet; its session names this life of the replica.
    private readonly ForwardWindow _forwards = new(Guid.NewGuid().ToString("N")[..12]);
    private long _netjoins;
    private long _probes;
    private string? _netjoinId;
    private int _heldInNetjoin;

    public ReplicaRoom(Jid room, ClusterHosts hosts, IStanzaSink sink)
    {
        _hosts = hosts;
        _sink = sink;
        var settings = ReplicationSettings.Of(Context.System);
        _state = new ReplicaRoomState(room, hosts.OwnHost ?? throw new InvalidOperationException("a replica needs its host domain"),
            serving: settings.Split);
        _keepalive = new LinkKeepalive(settings, DmucMetrics.Of(Context.System).TrackLink(room, LinkEnd.Replica));
        _gauge = DmucMetrics.Of(Context.System).TrackReplicaRoom(() => _state.LocalOccupants.Count);
        _keepsAlive = room.Local is not null;

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
        Receive<KeepaliveTick>(_ => HandleKeepaliveTick());
        Receive<ShutDownRooms>(_ => HandleShutdown());
        Receive<CheckOccupants>(_ => ProbeLocalOccupants());
        Receive<InspectReplica>(_ => Sender.Tell(new ReplicaInspection(_state.Room, _state.LastSequence,
            _state.LocalOccupants.ToDictionary(), _state.Roster.Values.ToList(), _state.History.Count(), _keepalive.State,
            _keepalive.SplitSince, _keepalive.LastRtt, _keepalive.AverageRtt, _state.HeldDuringSplit.Count, _state.LastStanzaId,
            _forwards.Count)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(Jid room, ClusterHosts hosts, IStanzaSink sink) =>
        Akka.Actor.Props.Create(() => new ReplicaRoom(room, hosts, sink));

    protected override void PreStart()
    {
        if (_keepsAlive) ScheduleKeepalive(_keepalive.Check(DateTimeOffset.UtcNow).CheckAgainIn);
    }

    protected override void PostStop() { _keepalive.Telemetry?.Dispose(); _gauge.Dispose(); }

    private void HandleStanzaFromLocalUser(XElement stanza)
    {
        switch (_keepalive.State)
        {
            case LinkState.Rejoining:
                _waitingForNetjoin.Enqueue(stanza);
                break;
            case LinkState.Split:
                _sink.Send(_state.ServeDuringSplit(stanza, DateTimeOffset.UtcNow));
                break;
            default:
                _state.RecordLocalStanza(stanza);
                if (!_keepsAlive)
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
                _keepalive.AwaitingAnswerSince(_forwards.OldestSentAt);
                ScheduleKeepalive(_keepalive.Check(now).CheckAgainIn);
                break;
        }
    }

    /// <summary>The room processed our forwards up to the acknowledged one: they are no longer ours to resend.</summary>
    private void Acknowledged(ForwardAck? ack)
    {
        if (ack is null || !_forwards.Acknowledge(ack)) return;
        _keepalive.AwaitingAnswerSince(_forwards.OldestSentAt);
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
        if (_keepsAlive && _keepalive.State != LinkState.Linked)
            return; // the netjoin's resync covers it
        if (_keepsAlive && batch.Sequence > _state.LastSequence + 1 && _state.LastSequence != 0 && batch.Sequence != 1)
        {
            // Batches were lost (a link flapping faster than the keepalive notices): resync rather than guess.
            _log.Warning("Replica of {Room}: batch {Sequence} after {LastSequence}; resyncing", batch.Room, batch.Sequence, _state.LastSequence);
            StartNetjoin();
            return;
        }
        // The batch before this one is what the primary's link had sent.
        if (_keepsAlive && PrimaryRestarted(batch.Sequence - 1))
        {
            _log.Warning("Replica of {0}: batch {1} after {2}: the primary's room restarted; resyncing", batch.Room, batch.Sequence, _state.LastSequence);
            StartNetjoin();
            return;
        }
        Apply(batch);
    }

    private void Apply(ReplicaBatch batch)
    {
        var (deliveries, refused) = _state.ApplyBatch(batch);
        _sink.Send(deliveries);
        foreach (var occupant in refused)
        {
            _log.Warning("Replica of {0}: refused {1}, who never sent it directed presence", batch.Room, occupant);
            Sender.Tell(new EnterRefused(batch.Room, occupant, _hosts.OwnHost!));
        }
    }

    /// <summary>The primary's answer to our netjoin: one batch from what we reported to the room as it is.</summary>
    private void HandleResync(ReplicaBatch resync)
    {
        if (resync.ResyncOf != _netjoinId || _keepalive.State != LinkState.Rejoining)
        {
            _log.Debug("Replica of {0}: ignored resync {1} (waiting for {2})", resync.Room, resync.ResyncOf, _netjoinId ?? "none");
            return;
        }
        Apply(resync);
        _state.ForgetHeld(_heldInNetjoin);
        // The netjoin carried every forward still waiting; should one remain, it waits afresh from now.
        _keepalive.AwaitingAnswerSince(_forwards.Count > 0 ? DateTimeOffset.UtcNow : null);
        _log.Info("Replica of {Room}: {LinkState} to its primary again (netjoin {NetjoinId}, split since {SplitSince})", resync.Room, LinkState.Linked,
            resync.ResyncOf, _keepalive.SplitSince?.ToString("O") ?? "-");
        _keepalive.MarkLinked(DateTimeOffset.UtcNow);
        _netjoinId = null;
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
        _keepalive.Answered(pong.Id, DateTimeOffset.UtcNow);
        HeardFromPrimary();
        ResyncIfOutOfStep(pong.LastSentSequence);
    }

    /// <summary>
    /// The primary's ping or pong says which batch it sent last, and travels behind that batch (docs/protocol/netjoin.md §2).
    /// A higher number than ours means batches were lost in a cut too short for either end to notice, with none
    /// after it to show a sequence jump; a lower one, that the primary's room restarted (§5) and no longer knows
    /// our occupants.
    /// </summary>
    private void ResyncIfOutOfStep(long? primarySentUpTo)
    {
        if (!_keepsAlive || !_keepalive.IsLinked || primarySentUpTo is not { } sent) return;
        // A replica that never applied a batch has nothing stale: its first batch may well follow a higher number.
        if (sent > _state.LastSequence && _state.LastSequence != 0)
            _log.Warning("Replica of {0}: the primary sent up to batch {1}, we applied {2}; resyncing", _state.Room, sent, _state.LastSequence);
        else if (PrimaryRestarted(sent))
            _log.Warning("Replica of {0}: the primary sent up to batch {1}, fewer than our {2}: its room restarted; resyncing",
                _state.Room, sent, _state.LastSequence);
        else
            return;
        StartNetjoin();
    }

    /// <summary>
    /// A primary's link numbers its batches from 1 when it starts. A room that stopped while empty (passivated) has
    /// nobody of ours to forget; one that restarted with our users in it (its node crashed) must hear of them.
    /// </summary>
    private bool PrimaryRestarted(long sequence) => sequence < _state.LastSequence && _state.LocalOccupants.Count > 0;

    /// <summary>The primary holds us split and heard from us: we may have missed batches, so resync.</summary>
    private void HandleNetjoinRequest()
    {
        HeardFromPrimary();
        if (_keepalive.State != LinkState.Rejoining) StartNetjoin();
    }

    /// <summary>Any word from the primary: across a split link it means the primary is back.</summary>
    private void HeardFromPrimary()
    {
        _keepalive.Heard(DateTimeOffset.UtcNow);
        if (_keepsAlive && _keepalive.State == LinkState.Split) StartNetjoin();
    }

    /// <summary>
    /// Our half of the netjoin: what our users did alone and what we have, in one message the primary answers
    /// with one resync batch. Until then our users' stanzas wait, and batches are ignored (the resync covers them).
    /// </summary>
    private void StartNetjoin()
    {
        _netjoinId = $"netjoin-{++_netjoins}";
        _heldInNetjoin = _state.HeldDuringSplit.Count;
        var resync = new ResyncReplica(_state.Room, _hosts.OwnHost!, _netjoinId, _state.LastSequence, _state.LastStanzaId,
            _state.LocalOccupants.ToDictionary(), _state.Roster.Values.ToList(), _state.HeldDuringSplit.ToList(),
            _state.FirstHeldNumber, _forwards.Report());
        if (_hosts.PrimaryNode is not { } primary)
        {
            MarkSplit("the primary has no node in the cluster");
            return;
        }
        RoomDirectory.At(Context, primary).Tell(resync, Self);
        _log.Info("Replica of {0}: netjoin {1} started (split since {2}); reported batch {3}, {4} held stanzas and {5} unacknowledged forwards",
            _state.Room, _netjoinId, _keepalive.SplitSince?.ToString("O") ?? "-", _state.LastSequence, _heldInNetjoin, _forwards.Count);
        _keepalive.MarkRejoining(DateTimeOffset.UtcNow);
        ScheduleKeepalive(_keepalive.Check(DateTimeOffset.UtcNow).CheckAgainIn);
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
        _sink.Send(_state.LocalOccupants.Keys.Select(session => new Delivery(session, new XElement(Ns.Client + "iq",
            new XAttribute("from", _state.Room.ToString()), new XAttribute("type", "get"), new XAttribute("id", id),
            new XElement(Ns.Ping + "ping")))).ToList());
    }

    private void HandleKeepaliveTick()
    {
        var now = DateTimeOffset.UtcNow;
        var (action, checkAgainIn) = _keepalive.Check(now);
        switch (action)
        {
            case KeepaliveAction.MarkSplit:
                MarkSplit(_keepalive.State == LinkState.Rejoining ? "the netjoin got no answer"
                    : _forwards.OldestSentAt is { } oldest && now - oldest >= _keepalive.AnswerTimeout ? "a forward was not acknowledged in time"
                    : "ping not answered in time");
                break;
            // A replica nobody is in has nothing to lose: it pings only for its occupants or to end a split.
            case KeepaliveAction.Ping when _state.LocalOccupants.Count > 0 || !_keepalive.IsLinked:
                if (_hosts.PrimaryNode is { } primary)
                    RoomDirectory.At(Context, primary).Tell(new KeepalivePing(_state.Room, _hosts.OwnHost!, _keepalive.StartPing(now)), Self);
                else
                    MarkSplit("the primary has no node in the cluster");
                break;
        }
        ScheduleKeepalive(checkAgainIn);
    }

    private void ScheduleKeepalive(TimeSpan delay) => Timers.StartSingleTimer(KeepaliveTick.Instance, KeepaliveTick.Instance, delay);

    private void MarkSplit(string reason)
    {
        if (!_keepsAlive || _keepalive.State == LinkState.Split) return;
        var now = DateTimeOffset.UtcNow;
        _keepalive.MarkSplit(now);
        _netjoinId = null;
        _log.Warning("Replica of {Room}: {LinkState} from its primary ({Reason}); serving its users locally", _state.Room, _keepalive.State, reason);
        _sink.Send(_state.MarkSplit());
        ReleaseWaitingStanzas();
        ScheduleKeepalive(_keepalive.Check(now).CheckAgainIn);
    }

    private void ReleaseWaitingStanzas()
    {
        while (_waitingForNetjoin.TryDequeue(out var stanza)) HandleStanzaFromLocalUser(stanza);
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

    private sealed class KeepaliveTick
    {
        public static readonly KeepaliveTick Instance = new();
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
