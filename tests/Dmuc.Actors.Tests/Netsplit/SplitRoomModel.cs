using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// A room's primary and its replicas without actors or a network: the pure classes the actors are shells of
/// (<see cref="PrimaryRoom"/> for RoomActor; <see cref="ReplicaRoomState"/> and <see cref="ReplicaSync"/> for ReplicaRoom),
/// driven as the actors drive them. Only the network is the model's: batches arrive at once, and those for a split
/// host are lost, as withheld or dropped ones are; what a replica delivers is written at once, and its receipt
/// (<see cref="DeliveryReceipt"/>) reaches the primary unless <see cref="ReceiptsLost"/>. The primary's journal is the
/// durable events it decided (every receipt among them: the model's clock moves a second a stanza), which
/// <see cref="CrashPrimary"/> restarts it from.
/// </summary>
public sealed class SplitRoomModel
{
    private PrimaryRoom _primary;
    private readonly MucServiceOptions _options;
    private readonly List<RoomEvent> _journal = [];
    private readonly Dictionary<string, ReplicaRoomState> _replicas;
    private readonly SplitServing _serving;
    private readonly Dictionary<string, ReplicaSync> _syncs;
    private readonly Dictionary<string, long> _sequences = new();
    private readonly HashSet<string> _split = [];
    private readonly Dictionary<Jid, List<XElement>> _received = new();
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
        _syncs = _replicas.ToDictionary(replica => replica.Key, replica => new ReplicaSync(replica.Value));
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
        if (_replicas.TryGetValue(host, out var replica))
        {
            if (_split.Contains(host))
            {
                _now = _now.AddSeconds(1);
                Deliver(replica.Apply(replica.DecideDuringSplit(stanza, _now)).Deliveries);
                return;
            }
            replica.Apply(replica.DecideLocalStanza(stanza));
        }
        Process(stanza);
    }

    /// <summary>The link to <paramref name="host"/> is lost; batches for it are lost with it until the netjoin.</summary>
    public void Cut(string host)
    {
        if (_split.Add(host)) Deliver(_replicas[host].Apply(_replicas[host].DecideSplit()).Deliveries);
    }

    /// <summary>
    /// The node of <paramref name="host"/> is killed and started again: the link is split, and the new incarnation of the
    /// replica knows nothing; the host's users stay connected to their server and keep what they received.
    /// </summary>
    public void CrashReplica(string host)
    {
        _split.Add(host);
        _replicas[host] = new ReplicaRoomState(Room, host, serving: _serving);
        _syncs[host] = new ReplicaSync(_replicas[host]);
    }

    /// <summary>
    /// The primary's node is killed and started again: every replica finds its link split, and the room comes back with what
    /// its journal has, numbering its batches anew.
    /// </summary>
    public void CrashPrimary()
    {
        foreach (var host in _replicas.Keys) Cut(host);
        _primary = NewPrimary();
        foreach (var @event in _journal) _primary.State.Apply(@event);
        _sequences.Clear();
    }

    /// <summary>The link to <paramref name="host"/> found no node for it for a while: the room lets its occupants go.</summary>
    public void HostGone(string host)
    {
        _now = _now.AddSeconds(1);
        foreach (var decided in _primary.HostGone(host, _now)) Commit(decided);
    }

    /// <summary>
    /// Each session the replica on <paramref name="host"/> checks (a user it relearnt after its node restarted) answers the
    /// room's ping, as a connected client does; it then gets what waited for the answer.
    /// </summary>
    public void AnswerSessionChecks(string host)
    {
        var replica = _replicas[host];
        foreach (var (session, received) in _received.Where(user => user.Key.Domain == host).ToList())
            foreach (var ping in received.Where(stanza => stanza.Name == Ns.Client + "iq" && replica.PendingChecks.Contains(stanza.Attribute("id")?.Value ?? "")).ToList())
                if (replica.DecideCheckAnswer(new XElement(Ns.Client + "iq", new XAttribute("from", session.ToString()), new XAttribute("to", Room.ToString()),
                        new XAttribute("type", "result"), new XAttribute("id", ping.Attribute("id")!.Value))) is { } answer)
                    Deliver(replica.Apply(answer).Deliveries);
        SendReceipt(host);
    }

    /// <summary>The report the replica on <paramref name="host"/> would start a netjoin with now.</summary>
    public ResyncReplica Report(string host)
    {
        var started = _syncs[host].DecideNetjoin(host, unacknowledged: null);
        _syncs[host].Apply(started);
        _replicas[host].Apply(ReceiptsToBeSentAnew.Instance);
        return started.Report;
    }

    /// <summary>The replica on <paramref name="host"/> reports and the primary answers (docs/protocol/netjoin.md §3).</summary>
    /// <param name="resyncLost">The primary's answer never arrives: the replica stays split and keeps what it held.</param>
    /// <returns>The resync batch the primary sent.</returns>
    public ReplicaBatch Netjoin(string host, bool resyncLost = false)
    {
        var report = Report(host);
        _now = _now.AddSeconds(1);
        // The primary processes the held stanzas while the link is still not linked: their batches for this host are withheld.
        var outcome = _primary.Netjoin(report, _now) ?? throw new InvalidOperationException("a report in one part is whole");
        foreach (var decided in outcome.Decisions) Commit(decided);
        var resync = new ReplicaBatch(Room, host, NextSequence(host), outcome.Resync.Items, outcome.Resync.NetjoinId, outcome.Resync.Ack);
        if (resyncLost) return resync;
        if (_syncs[host].DecideResync(resync, LinkState.Rejoining) is not { Complete: true } part)
            throw new InvalidOperationException($"{host} would not take its resync");
        _syncs[host].Apply(part.Taken);
        Deliver(_replicas[host].Apply(part.Outcome).Deliveries);
        _split.Remove(host);
        SendReceipt(host);
        // As ReplicaRoom tells RoomActor: an occupant the replica would not take back (it was kicked there) has left.
        foreach (var occupant in part.Outcome.Refused)
            if (_primary.EnterRefused(new EnterRefused(Room, occupant, host), _now) is { } decided)
                Commit(decided);
        return resync;
    }

    private void Process(XElement stanza)
    {
        _now = _now.AddSeconds(1);
        Commit(_primary.Decide(new HandleStanza(stanza, _now)));
    }

    /// <summary>As RoomActor: the durable events to the journal, then what they send.</summary>
    private void Commit(Decided decided)
    {
        _journal.AddRange(decided.Decision.Events.Where(e => e.IsDurable));
        Send(decided.Outgoing);
    }

    /// <summary>As ReplicaLink.Dispatch and the replicas' batch handling: local deliveries at once, each host's batch unless split.</summary>
    private void Send(Outgoing outgoing)
    {
        Deliver(outgoing.Plan.Local);
        foreach (var (host, items) in outgoing.Plan.ByHost)
        {
            var batch = new ReplicaBatch(Room, host, NextSequence(host), items);
            if (_split.Contains(host)) continue;
            if (_syncs[host].Judge(batch, LinkState.Linked).Verdict != BatchVerdict.Apply)
                throw new InvalidOperationException($"{host} would not apply batch {batch.Sequence}");
            var applied = _replicas[host].Apply(_replicas[host].DecideBatch(batch));
            Deliver(applied.Deliveries);
            SendReceipt(host);
            if (applied.Refused.Count > 0)
                throw new InvalidOperationException($"{host} refused {string.Join(", ", applied.Refused)}: the model's users always ask first");
        }
    }

    /// <summary>As ReplicaRoom once its server took what it delivered: the receipt, if it says something new of anyone.</summary>
    private void SendReceipt(string host)
    {
        if (ReceiptsLost || _replicas[host].ReceiptDue() is not { } receipt) return;
        _replicas[host].Apply(new ReceiptSent(receipt));
        if (_primary.Delivered(receipt, _now) is { IsDurable: true } delivered) _journal.Add(delivered);
    }

    private long NextSequence(string host) => _sequences[host] = _sequences.GetValueOrDefault(host) + 1;

    private void Deliver(IEnumerable<Delivery> deliveries)
    {
        foreach (var delivery in deliveries)
        {
            if (!_received.TryGetValue(delivery.To, out var stanzas)) _received[delivery.To] = stanzas = [];
            stanzas.Add(delivery.Stanza);
        }
    }
}
