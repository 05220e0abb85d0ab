using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// A room's primary and its replicas without actors or a network: the pure pieces (<see cref="RoomState"/>,
/// <see cref="ReplicationPlanner"/>, <see cref="ReplicaRoomState"/>, <see cref="NetjoinPlanner"/>) wired as RoomActor
/// and ReplicaRoom wire them. Batches arrive at once; those for a split host are lost, as withheld or dropped ones are.
/// </summary>
public sealed class SplitRoomModel
{
    private readonly RoomState _primary;
    private readonly Dictionary<string, ReplicaRoomState> _replicas;
    private readonly Dictionary<string, long> _sequences = new();
    private readonly HeldStanzaLedger _held = new();
    private readonly HashSet<string> _split = [];
    private readonly Dictionary<Jid, List<XElement>> _received = new();
    private DateTimeOffset _now = new(1990, 10, 13, 23, 0, 0, TimeSpan.Zero);
    private int _netjoins;

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
        _primary = new RoomState(Room, options);
        _replicas = replicaHosts.ToDictionary(host => host, host => new ReplicaRoomState(Room, host, serving: serving));
    }

    /// <summary>The model's clock: one second passes with each stanza the primary processes.</summary>
    public DateTimeOffset Now => _now;

    public Jid Room { get; }
    public string PrimaryHost { get; }
    public RoomState Primary => _primary;
    public ReplicaRoomState Replica(string host) => _replicas[host];
    public bool IsSplit(string host) => _split.Contains(host);

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
                Deliver(replica.ServeDuringSplit(stanza, _now));
                return;
            }
            replica.RecordLocalStanza(stanza);
        }
        Process(stanza);
    }

    /// <summary>The link to <paramref name="host"/> is lost; batches for it are lost with it until the netjoin.</summary>
    public void Cut(string host)
    {
        if (_split.Add(host)) Deliver(_replicas[host].MarkSplit());
    }

    /// <summary>The replica on <paramref name="host"/> reports and the primary answers (docs/protocol/netjoin.md §3).</summary>
    /// <param name="resyncLost">The primary's answer never arrives: the replica stays split and keeps what it held.</param>
    /// <returns>The resync batch the primary sent.</returns>
    public ReplicaBatch Netjoin(string host, bool resyncLost = false)
    {
        var replica = _replicas[host];
        var report = new ResyncReplica(Room, host, $"netjoin-{++_netjoins}", replica.LastSequence, replica.LastStanzaId,
            replica.LocalOccupants.ToDictionary(), replica.Roster.Values.ToList(), replica.HeldDuringSplit.ToList(), replica.FirstHeldNumber);
        // The primary processes the held stanzas while the link is still not linked: their batches for this host are withheld.
        foreach (var (number, held) in _held.ToProcess(report))
            _held.Processed(host, number, Process(held.Stanza, held.ServedAt));
        var resync = new ReplicaBatch(Room, host, NextSequence(host), NetjoinPlanner.Resync(_primary, host, report, _held.OutcomeFor(host)),
            report.NetjoinId);
        if (resyncLost) return resync;
        var refused = ApplyOnReplica(host, resync);
        replica.ForgetHeld(report.HeldStanzas.Count);
        _split.Remove(host);
        // As RoomActor does with EnterRefused: an occupant the replica would not take back (it was kicked there) has left.
        foreach (var occupant in refused)
            if (_primary.Sessions.FirstOrDefault(session => session.RealJid == occupant) is { } session)
                Process(new XElement(Ns.Client + "presence", new XAttribute("from", occupant.ToString()),
                    new XAttribute("to", Room.WithResource(session.Nick).ToString()), new XAttribute("type", "unavailable")));
        return resync;
    }

    private Decision Process(XElement stanza, DateTimeOffset? sentAt = null)
    {
        var before = Sessions();
        _now = _now.AddSeconds(1);
        var decision = _primary.Process(new HandleStanza(stanza, _now, sentAt));
        foreach (var @event in decision.Events) _primary.Apply(@event);
        var acceptedAt = decision.Events.OfType<HistoryMessageAdded>().Select(e => (DateTimeOffset?)e.Entry.Timestamp).FirstOrDefault();
        var plan = ReplicationPlanner.Split(decision.Deliveries, _replicas.ContainsKey, Room, before, Sessions(), stanza, acceptedAt);
        Deliver(plan.Local);
        foreach (var (host, items) in plan.ByHost)
        {
            var batch = new ReplicaBatch(Room, host, NextSequence(host), items);
            if (!_split.Contains(host) && ApplyOnReplica(host, batch) is [_, ..] refused)
                throw new InvalidOperationException($"{host} refused {string.Join(", ", refused)}: the model's users always ask first");
        }
        return decision;
    }

    private IReadOnlyList<Jid> ApplyOnReplica(string host, ReplicaBatch batch)
    {
        var (deliveries, refused) = _replicas[host].ApplyBatch(batch);
        Deliver(deliveries);
        return refused;
    }

    private long NextSequence(string host) => _sequences[host] = _sequences.GetValueOrDefault(host) + 1;

    private Dictionary<Jid, string> Sessions() => _primary.Sessions.ToDictionary(session => session.RealJid, session => session.Nick);

    private void Deliver(IEnumerable<Delivery> deliveries)
    {
        foreach (var delivery in deliveries)
        {
            if (!_received.TryGetValue(delivery.To, out var stanzas)) _received[delivery.To] = stanzas = [];
            stanzas.Add(delivery.Stanza);
        }
    }
}
