using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// A room's primary and its replicas without actors or a network: the pure classes the actors are shells of
/// (<see cref="PrimaryRoom"/> for RoomActor; <see cref="ReplicaRoomState"/> for ReplicaRoom, each command through its
/// <see cref="ReplicaRoomState.Handle"/>), driven as the actors drive them. Only the network is the model's: forwards and
/// batches arrive at once, and those for a split host are lost, as withheld or dropped ones are; what a replica delivers
/// is written at once, and its receipt (<see cref="DeliveryReceipt"/>) reaches the primary unless <see cref="ReceiptsLost"/>.
/// The primary's journal is the durable events it decided (every receipt among them: the model's clock moves a second a
/// stanza), which <see cref="CrashPrimary"/> restarts it from. Each replica host's server keeps what it handed its node until the
/// node settles it (mod_dmuc_stream_ack, through the replica's own <see cref="ReplicaStreamReceipts"/>), with the node's mark of
/// what it served itself, and hands it again to the node's next life (<see cref="HandKeptAgain"/>).
/// </summary>
public sealed class SplitRoomModel
{
    private PrimaryRoom _primary;
    private readonly MucServiceOptions _options;
    private readonly List<RoomEvent> _journal = [];
    private readonly Dictionary<string, ReplicaRoomState> _replicas;
    private readonly SplitServing _serving;
    // The primary's side of each host's link (ReplicaLink's state): it numbers the batches, and says whether the room has users of the
    // host from before it. Started with the host's first batch, and again after the primary's restart.
    private readonly Dictionary<string, ReplicaLinkState> _links = new();
    // Netjoins the replicas started on a word of the primary, to run once what is under way is done (as their reports reach the room).
    private readonly List<(string Host, ResyncReplica Report)> _netjoinsAsked = [];
    private readonly HashSet<string> _split = [];
    private readonly Dictionary<Jid, List<XElement>> _received = new();
    private readonly Dictionary<string, HostStream> _streams;
    // Unnoticed cuts, one way: what the primary sends these hosts is lost, and what their replicas forward.
    private readonly HashSet<string> _repliesLost = [];
    private readonly HashSet<string> _forwardsLost = [];
    private DateTimeOffset _now = new(1990, 10, 13, 23, 0, 0, TimeSpan.Zero);

    /// <param name="primaryHost">The XMPP host whose users the primary serves itself.</param>
    public SplitRoomModel(string room, string primaryHost, params string[] replicaHosts)
        : this(room, primaryHost, SplitServing.Default, replicaHosts)
    {
    }

    /// <param name="serving">What the replicas serve their users during a split.</param>
    public SplitRoomModel(string room, string primaryHost, SplitServing serving, params string[] replicaHosts)
        : this(room, primaryHost, serving, DmucTestCluster.ServiceOptions, replicaHosts)
    {
    }

    /// <param name="options">The MUC service's settings the primary runs with.</param>
    public SplitRoomModel(string room, string primaryHost, SplitServing serving, MucServiceOptions options, params string[] replicaHosts)
    {
        Room = Jid.Parse(room);
        PrimaryHost = primaryHost;
        _serving = serving;
        _replicas = replicaHosts.ToDictionary(host => host, host => new ReplicaRoomState(Room, host, serving: serving));
        _streams = replicaHosts.ToDictionary(host => host, _ => new HostStream());
        _options = options;
        _primary = NewPrimary();
    }

    private PrimaryRoom NewPrimary() => new(new RoomState(Room, _options), _replicas.ContainsKey, () => true, receiptJournalInterval: TimeSpan.Zero);

    /// <summary>The model's clock: one second passes with each stanza the primary processes.</summary>
    public DateTimeOffset Now => _now;

    public Jid Room { get; }
    public string PrimaryHost { get; }
    public RoomState Primary => _primary.State;
    public ReplicaRoomState Replica(string host) => _replicas[host];
    public bool IsSplit(string host) => _split.Contains(host);

    /// <summary>The replicas' receipts do not reach the primary: the node crashes between writing what it delivered and telling.</summary>
    public bool ReceiptsLost { get; set; }

    /// <summary>Everything the user has received, in order.</summary>
    public IReadOnlyList<XElement> ReceivedBy(ChatUser user) => _received.GetValueOrDefault(Jid.Parse(user.Jid)) ?? [];

    /// <summary>The first user creates the room (an instant room); the others enter.</summary>
    public void Populate(IEnumerable<ChatUser> users)
    {
        var owner = users.First();
        Send(RoomRequests.Enter(owner, Room.ToString()));
        Send(RoomRequests.AcceptDefaultConfiguration(owner, Room.ToString()));
        foreach (var user in users.Skip(1)) Send(RoomRequests.Enter(user, Room.ToString()));
    }

    /// <summary>A user's stanza, handed to the node of the user's host.</summary>
    public void Send(XElement stanza)
    {
        var host = Jid.Parse(stanza.Attribute("from")!.Value).Domain;
        if (!_replicas.ContainsKey(host))
        {
            _now = _now.AddSeconds(1);
            Commit(_primary.Decide(new HandleStanza(stanza, _now)));
        }
        else
        {
            // Served during a split at the moment it arrives; forwarded, it is processed by the primary a moment later.
            if (_split.Contains(host)) _now = _now.AddSeconds(1);
            _streams[host].Hand(stanza, _now);
            Taken(host, Handle(host, new LocalStanzaArrived(stanza, LinkOf(host), _now)));
        }
        RunNetjoinsAsked();
    }

    /// <summary>
    /// A cut neither end has noticed yet: from now on the primary's batches and acknowledgements to <paramref name="host"/> are lost, and
    /// with <paramref name="forwardsToo"/> its replica's forwards as well, until <see cref="Netjoin"/>.
    /// </summary>
    public void LoseOnTheWay(string host, bool forwardsToo)
    {
        _repliesLost.Add(host);
        if (forwardsToo) _forwardsLost.Add(host);
    }

    /// <summary>
    /// The new life of <paramref name="host"/>'s node enables acknowledgements on its stream: its server hands it again, in order, what
    /// the last life did not settle, marked resent, dated when first handed, and served where that life said it served it.
    /// </summary>
    public void HandKeptAgain(string host)
    {
        foreach (var (stanza, served, handedAt) in _streams[host].TakeLeftOver(Room.Domain))
        {
            _streams[host].Hand(stanza, handedAt);
            Taken(host, Handle(host, new LocalStanzaArrived(stanza, LinkOf(host), _now, Resent: true, ServedBefore: served)));
        }
    }

    /// <summary>The link to <paramref name="host"/> is lost; batches for it are lost with it until the netjoin.</summary>
    public void Cut(string host)
    {
        if (_split.Add(host)) Taken(host, Handle(host, new LinkSplit(_now)));
    }

    /// <summary>
    /// The node of <paramref name="host"/> is killed and started again: the link is split, and the new incarnation of the
    /// replica knows nothing; the host's users stay connected to their server and keep what they received.
    /// </summary>
    public void CrashReplica(string host)
    {
        _split.Add(host);
        _replicas[host] = new ReplicaRoomState(Room, host, serving: _serving);
        _streams[host] = _streams[host].Ended();
    }

    /// <summary>
    /// The primary's node is killed and started again: every replica finds its link split, and the room comes back with what
    /// its journal has, numbering its batches anew.
    /// </summary>
    /// <param name="fromSnapshot">The room had taken a snapshot of everything journaled, and recovers from it (as RoomActor does).</param>
    public void CrashPrimary(bool fromSnapshot = false)
    {
        foreach (var host in _replicas.Keys) Cut(host);
        var snapshot = _primary.State.ToSnapshot();
        _primary = NewPrimary();
        if (fromSnapshot) _primary.State = RoomState.FromSnapshot(Room, _options, snapshot);
        else foreach (var @event in _journal) _primary.State.Apply(@event);
        _primary.Recovered();
        _links.Clear();
    }

    /// <summary>
    /// The primary's link reaches <paramref name="host"/>'s restarted node (<see cref="CrashReplica"/>) with neither end having seen the
    /// other gone (a restart quicker than the keepalive notices, or the primary's restarted too, its new link numbering from 1): no
    /// netjoin ran, and the link carries batches again.
    /// </summary>
    public void Relinked(string host) => _split.Remove(host);

    /// <summary>The link to <paramref name="host"/> found no node for it for a while: the room lets its occupants go.</summary>
    public void HostGone(string host)
    {
        _now = _now.AddSeconds(1);
        foreach (var decided in _primary.HostGone(host, _now)) Commit(decided);
        RunNetjoinsAsked();
    }

    /// <summary>
    /// Each session the replica on <paramref name="host"/> checks (a user it relearnt after its node restarted) answers the
    /// room's ping, as a connected client does; it then gets what waited for the answer. The sessions of <paramref name="gone"/>
    /// are no longer there: their server answers for them with an error, as for a session it does not have.
    /// </summary>
    public void AnswerSessionChecks(string host, params ChatUser[] gone)
    {
        var replica = _replicas[host];
        var goneSessions = gone.Select(user => Jid.Parse(user.Jid)).ToHashSet();
        foreach (var (session, received) in _received.Where(user => user.Key.Domain == host).ToList())
            foreach (var ping in received.Where(stanza => stanza.Name == Ns.Client + "iq" && replica.PendingChecks.Contains(stanza.Attribute("id")?.Value ?? "")).ToList())
            {
                var answer = new XElement(Ns.Client + "iq", new XAttribute("from", session.ToString()), new XAttribute("to", Room.ToString()),
                    new XAttribute("type", goneSessions.Contains(session) ? "error" : "result"), new XAttribute("id", ping.Attribute("id")!.Value));
                if (goneSessions.Contains(session))
                    answer.Add(new XElement(Ns.Client + "error", new XAttribute("type", "cancel"), new XElement(Ns.Stanzas + "service-unavailable")));
                Taken(host, Handle(host, new LocalStanzaArrived(answer, LinkOf(host), _now)));
            }
        RunNetjoinsAsked();
    }

    /// <summary>The report the replica on <paramref name="host"/> would start a netjoin with now.</summary>
    public ResyncReplica Report(string host) =>
        Handle(host, new NetjoinRequested(LinkState.Split)).Netjoin ?? throw new InvalidOperationException($"{host} would not start a netjoin");

    /// <summary>The replica on <paramref name="host"/> reports and the primary answers (docs/protocol/netjoin.md §3).</summary>
    /// <param name="resyncLost">The primary's answer never arrives: the replica stays split and keeps what it held.</param>
    /// <returns>The resync batch the primary sent.</returns>
    public ReplicaBatch Netjoin(string host, bool resyncLost = false)
    {
        _repliesLost.Remove(host);
        _forwardsLost.Remove(host);
        var resync = Netjoin(host, Report(host), resyncLost);
        RunNetjoinsAsked();
        return resync;
    }

    private ReplicaBatch Netjoin(string host, ResyncReplica report, bool resyncLost = false)
    {
        // A replica that reports is rejoining (one linked too, asking for a netjoin to bring what it holds): it ignores the primary's
        // batches until the resync, which covers them.
        _split.Add(host);
        _now = _now.AddSeconds(1);
        // The primary processes the held stanzas while the link is still not linked: their batches for this host are withheld.
        var outcome = _primary.Netjoin(report, _now) ?? throw new InvalidOperationException("a report in one part is whole");
        foreach (var decided in outcome.Decisions) Commit(decided);
        if (outcome.Told is { } told) _journal.Add(told);
        var resync = (ReplicaBatch)Assert.Single(LinkTo(host).Handle(new ResyncReady(outcome.Resync, HostHasNode: true)).ToReplica);
        if (resyncLost) return resync;
        var taken = Handle(host, new BatchFromPrimary(resync, LinkState.Rejoining, _now));
        if (taken.Resync != ResyncStep.NetjoinComplete) throw new InvalidOperationException($"{host} would not take its resync");
        _split.Remove(host);
        Taken(host, taken);
        // As ReplicaRoom tells RoomActor: an occupant the replica would not take back (it was kicked there) has left.
        foreach (var occupant in taken.Refused)
            if (_primary.EnterRefused(new EnterRefused(Room, occupant, host), _now) is { } decided)
                Commit(decided);
        return resync;
    }

    private LinkState LinkOf(string host) => _split.Contains(host) ? LinkState.Split : LinkState.Linked;

    /// <summary>As ReplicaRoom: the command handled, then what it served marked at the server, and what it no longer holds settled.</summary>
    private ReplicaOutcome Handle(string host, ReplicaRoomCommand command)
    {
        var replica = _replicas[host];
        var outcome = replica.Handle(command);
        _streams[host].Handled(outcome, replica.Holds);
        return outcome;
    }

    /// <summary>
    /// As ReplicaLink.Dispatch and the replicas' batch handling: local deliveries at once, each host's batch (with the acknowledgement
    /// of that host's forward) unless split, and an acknowledgement alone where there is no batch.
    /// </summary>
    private void Send(Outgoing outgoing)
    {
        Deliver(outgoing.Plan.Local);
        foreach (var (host, items) in outgoing.Plan.ByHost)
        {
            var replicate = new ReplicaLink.ReplicateToHost(items, outgoing.Ack?.Host == host ? outgoing.Ack.Value.Ack : null);
            var sent = LinkTo(host).Handle(new RoomItemsArrived(replicate, LinkOf(host), HostHasNode: true));
            if (sent.ToReplica is not [ReplicaBatch batch] || _repliesLost.Contains(host)) continue;
            var neverInStep = !_replicas[host].BeenInStep;
            var applied = Handle(host, new BatchFromPrimary(batch, LinkState.Linked, _now));
            if (applied.Netjoin is { } report && neverInStep)
            {
                // A new life relearns the room's users of its host first (ReplicaSync.MustRelearn): rejoining, it takes no batch until the resync.
                _split.Add(host);
                _netjoinsAsked.Add((host, report));
                continue;
            }
            if (applied.Netjoin is not null) throw new InvalidOperationException($"{host} would not apply batch {batch.Sequence}: {applied.NetjoinWhy}");
            if (applied.Refused.Count > 0)
                throw new InvalidOperationException($"{host} refused {string.Join(", ", applied.Refused)}: the model's users always ask first");
            Taken(host, applied);
        }
        if (outgoing.Ack is { } ack && !outgoing.Plan.ByHost.ContainsKey(ack.Host) && !_split.Contains(ack.Host) && !_repliesLost.Contains(ack.Host))
            Taken(ack.Host, Handle(ack.Host, new AcknowledgementFromPrimary(ack.Ack, LinkState.Linked)));
    }

    /// <summary>
    /// What a replica's command came to, as ReplicaRoom sends it: deliveries written at once, forwards processed by the primary as
    /// RoomActor processes a numbered forward, and a receipt told once written (unless <see cref="ReceiptsLost"/>).
    /// </summary>
    private void Taken(string host, ReplicaOutcome outcome)
    {
        Deliver(outcome.Deliveries);
        foreach (var forward in outcome.Forwards.Where(_ => !_forwardsLost.Contains(host)))
        {
            _now = _now.AddSeconds(1);
            var relayed = _primary.Relayed(new HandleStanza(forward.Stanza, _now, Resent: forward.Resent), new RelayedBy(host, forward.Number!, forward.Resent));
            if (relayed.Verdict == ForwardVerdict.Gap) throw new InvalidOperationException($"{host}'s forward {forward.Number} came past a gap");
            if (relayed.Decided is { } decided) Commit(decided);
            else if (relayed.AcknowledgedAgain is { } outgoing) Send(outgoing);
        }
        if (outcome.ReceiptToWrite is not { } receipt) return;
        var ended = Handle(host, new ReceiptWriteEnded(receipt, Written: true, LinkOf(host)));
        if (!ReceiptsLost && ended.ReceiptToSend is { } sent && _primary.Delivered(sent, _now) is { IsDurable: true } delivered) _journal.Add(delivered);
        // The model's time stands still for the pause after a receipt.
        Taken(host, Handle(host, new ReceiptPauseOver(LinkOf(host))));
    }

    /// <summary>As RoomActor: the durable events to the journal, then what they send.</summary>
    private void Commit(Decided decided)
    {
        _journal.AddRange(decided.Decision.Events.Where(e => e.IsDurable));
        Send(decided.Outgoing);
    }

    /// <summary>
    /// A replica host's server's stream to its node, as mod_dmuc_stream_ack keeps it: each stanza it handed, until the node settles
    /// it, whether the node marked it served, and when it was first handed; the node's side is the replica's own
    /// <see cref="ReplicaStreamReceipts"/>.
    /// </summary>
    /// <param name="leftOver">What the last stream left unsettled, for this one to be handed first.</param>
    private sealed class HostStream(IReadOnlyList<(XElement Stanza, bool Served, DateTimeOffset HandedAt)>? leftOver = null)
    {
        private IReadOnlyList<(XElement Stanza, bool Served, DateTimeOffset HandedAt)> _leftOver = leftOver ?? [];
        private readonly ReplicaStreamReceipts _receipts = new();
        private readonly SortedDictionary<long, (XElement Stanza, bool Served, DateTimeOffset HandedAt)> _kept = new();
        private long _handed;

        public void Hand(XElement stanza, DateTimeOffset handedAt)
        {
            var receipt = new StreamReceipt(Akka.Actor.ActorRefs.Nobody, Connection: 1, ++_handed, Resent: false);
            _kept[receipt.Number] = (stanza, false, handedAt);
            _receipts.Arrived(stanza, receipt);
        }

        public void Handled(ReplicaOutcome outcome, Func<XElement, bool> holds)
        {
            foreach (var served in _receipts.Of(outcome.ServedAndHeld))
                _kept[served.Number] = _kept[served.Number] with { Served = true };
            foreach (var settled in _receipts.NoLongerHeld(holds)) _kept.Remove(settled.Number);
        }

        /// <summary>The node's life ended: the next stream starts with what this one left.</summary>
        public HostStream Ended() => new([.. _leftOver, .. _kept.Values]);

        /// <summary>What the last stream left, each with the module's delay of when it was first handed (its own earlier one replaced).</summary>
        public IReadOnlyList<(XElement Stanza, bool Served, DateTimeOffset HandedAt)> TakeLeftOver(string componentDomain)
        {
            var leftOver = _leftOver.Select(kept => (FirstHandedStamped(kept.Stanza, kept.HandedAt, componentDomain), kept.Served, kept.HandedAt)).ToList();
            _leftOver = [];
            return leftOver;
        }

        private static XElement FirstHandedStamped(XElement stanza, DateTimeOffset handedAt, string componentDomain)
        {
            var stamped = new XElement(StreamAckProtocol.FirstHanded(stanza, componentDomain).Stanza);
            stamped.Add(Stanzas.Delay(Jid.Parse(componentDomain), handedAt));
            return stamped;
        }
    }

    /// <summary>As RoomActor's links: started with the first batch for the host, saying whether the room has users of it from before.</summary>
    private ReplicaLinkState LinkTo(string host) =>
        _links.TryGetValue(host, out var link) ? link : _links[host] = new ReplicaLinkState(Room, host, resyncPartBytes: 16 << 20, _primary.HasUsersFromBefore(host));

    /// <summary>The netjoins replicas started on the primary's word, each run as its report reaches the room.</summary>
    private void RunNetjoinsAsked()
    {
        while (_netjoinsAsked.Count > 0)
        {
            var (host, report) = _netjoinsAsked[0];
            _netjoinsAsked.RemoveAt(0);
            Netjoin(host, report);
        }
    }

    private void Deliver(IEnumerable<Delivery> deliveries)
    {
        foreach (var delivery in deliveries)
        {
            if (!_received.TryGetValue(delivery.To, out var stanzas)) _received[delivery.To] = stanzas = [];
            stanzas.Add(delivery.Stanza);
        }
    }
}
