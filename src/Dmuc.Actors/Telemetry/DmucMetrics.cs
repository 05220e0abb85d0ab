using System.Diagnostics;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Actor.Setup;
using Dmuc.Actors.Replication;
using Dmuc.Rooms;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Telemetry;

/// <summary>
/// The node's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/> (docs/operations.md, "Metrics",
/// lists each with its Prometheus name). One instance per node: several nodes in one process (the tests) each
/// count their own, and the node's exporter listens to its own instance only (<see cref="Meter"/> is compared by
/// reference, the name alone would mix the nodes).
/// </summary>
/// <remarks>
/// Rooms, occupants and replica links are observable gauges read at scrape time from slots the actors keep up to
/// date (<see cref="TrackRoom"/>, <see cref="TrackReplicaRoom"/>, <see cref="TrackLink"/>); a slot leaves the count
/// when its actor stops. Everything else is counted where it happens.
/// </remarks>
public sealed class DmucMetrics : IDisposable
{
    public const string MeterName = "Dmuc";

    // Seconds. Ping round trips and journal writes are milliseconds on a healthy node, seconds when it is in trouble.
    private static readonly double[] LatencyBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    // Seconds. A netsplit lasts from a ping timeout (seconds) to an outage (hours); a netjoin should take well under one.
    private static readonly double[] OutageBuckets =
        [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400];

    private readonly TrackedSlots<RoomGauge> _rooms = new();
    private readonly TrackedSlots<ReplicaRoomGauge> _replicaRooms = new();
    private readonly TrackedSlots<LinkTelemetry> _links = new();
    private readonly Counter<long> _messagesAccepted;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _refusedUnderLoad;
    private readonly Counter<long> _multicastStanzas;
    private readonly Counter<long> _multicastRecipients;
    private int _multicastInUse;
    private readonly Counter<long> _interNodeMessages;
    private readonly Counter<long> _interNodeBytes;
    private readonly Histogram<double> _journalWrite;

    public DmucMetrics()
    {
        Meter = new Meter(MeterName);
        Meter.CreateObservableGauge("dmuc.rooms", () => _rooms.Count(room => room.Exists), "{room}",
            "Rooms whose primary is this node, live in memory (a persistent room nobody is in is passivated and not counted)");
        Meter.CreateObservableGauge("dmuc.replica_rooms", () => _replicaRooms.Snapshot().Count, "{room}",
            "Replica rooms on this node: rooms of another node's primary with users of this node's host");
        Meter.CreateObservableGauge("dmuc.occupants", ObserveOccupants, "{occupant}",
            "Occupants of this node's primary rooms; location=remote are users of hosts served by replica nodes");
        Meter.CreateObservableGauge("dmuc.replica_occupants", () => _replicaRooms.Sum(room => room.LocalOccupants()), "{occupant}",
            "Users of this node's host in its replica rooms (the primary counts them as remote)");
        Meter.CreateObservableGauge("dmuc.replica_links", ObserveLinks, "{link}",
            "Primary/replica links by state (linked, split, rejoining) and end (primary: a room's link to a replica host; replica: a replica room's link to its primary)");
        _messagesAccepted = Meter.CreateCounter<long>("dmuc.messages.accepted", "{message}",
            "Groupchat messages (subject changes included) the node's primary rooms accepted and broadcast");
        _deliveries = Meter.CreateCounter<long>("dmuc.deliveries", "{stanza}",
            "Stanzas handed to this node's XMPP server over the component stream, one per recipient (multicast ones counted per recipient too)");
        _refusedUnderLoad = Meter.CreateCounter<long>("dmuc.refused_under_load", "{stanza}",
            "Users' stanzas refused with wait/resource-constraint while the XMPP server was behind on the node's output (over Dmuc:MaxQueuedBytes)");
        _multicastStanzas = Meter.CreateCounter<long>("dmuc.multicast.stanzas", "{stanza}",
            "XEP-0033 multicast stanzas sent to the XMPP server's multicast service, each for several recipients");
        _multicastRecipients = Meter.CreateCounter<long>("dmuc.multicast.recipients", "{stanza}",
            "Deliveries that left inside a multicast stanza (the rest left one stanza per recipient)");
        Meter.CreateObservableGauge("dmuc.multicast.in_use", () => Volatile.Read(ref _multicastInUse), "{stream}",
            "1 while broadcasts to the host's users go through the server's XEP-0033 multicast service, 0 while they go one stanza per recipient");
        _interNodeMessages = Meter.CreateCounter<long>("dmuc.internode.messages", "{message}",
            "DMUC protocol messages between nodes, by kind and direction (sent: serialized here, received: deserialized here)");
        _interNodeBytes = Meter.CreateCounter<long>("dmuc.internode.traffic", "By",
            "Size of the DMUC protocol messages between nodes (their XML, UTF-8), by kind and direction");
        RoundTrip = Meter.CreateHistogram("dmuc.ping.rtt", "s", "Keepalive ping round trips of the replica links, by end",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _journalWrite = Meter.CreateHistogram("dmuc.journal.write.duration", "s",
            "Time from handing a command's events to the journal to their acknowledgement (one PersistAllAsync)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        SplitDuration = Meter.CreateHistogram("dmuc.netsplit.duration", "s",
            "How long a replica link was split: from marked split to linked again after its netjoin, by end",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OutageBuckets });
        NetjoinDuration = Meter.CreateHistogram("dmuc.netjoin.duration", "s",
            "From the netjoin request to the resync (replica end: resync applied; primary end: resync sent), by end",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = OutageBuckets });
    }

    public Meter Meter { get; }

    internal Histogram<double> RoundTrip { get; }
    internal Histogram<double> SplitDuration { get; }
    internal Histogram<double> NetjoinDuration { get; }

    /// <summary>The metrics of the node <paramref name="system"/> belongs to (<see cref="DmucMetricsSetup"/>), or its own.</summary>
    public static DmucMetrics Of(ActorSystem system) => system.WithExtension<Holder, HolderId>().Metrics;

    /// <summary>A slot for one primary room; dispose it when the room actor stops.</summary>
    public RoomGauge TrackRoom() => _rooms.Add(new RoomGauge(_rooms));

    /// <summary>A slot for one replica room; <paramref name="localOccupants"/> is read at scrape time.</summary>
    public ReplicaRoomGauge TrackReplicaRoom(Func<int> localOccupants) => _replicaRooms.Add(new ReplicaRoomGauge(_replicaRooms, localOccupants));

    /// <summary>
    /// The telemetry of one end of a room's replica link; none for the service's own address, which keeps no link.
    /// </summary>
    public LinkTelemetry? TrackLink(Jid room, LinkEnd end) => room.Local is null ? null : _links.Add(new LinkTelemetry(this, _links, end));

    /// <summary>Counts what a room's decision says it accepted.</summary>
    public void Decided(RoomCommand command, Decision decision)
    {
        if (RoomTraffic.IsAcceptedGroupchat(command, decision)) _messagesAccepted.Add(1);
    }

    public void Delivered(int stanzas)
    {
        if (stanzas > 0) _deliveries.Add(stanzas);
    }

    /// <summary>A user's stanza was refused with resource-constraint because the XMPP server was not keeping up.</summary>
    public void RefusedUnderLoad() => _refusedUnderLoad.Add(1);

    /// <summary>One multicast stanza left for <paramref name="recipients"/> users.</summary>
    public void Multicast(int recipients)
    {
        _multicastStanzas.Add(1);
        _multicastRecipients.Add(recipients);
    }

    public void MulticastInUse(bool inUse) => Volatile.Write(ref _multicastInUse, inUse ? 1 : 0);

    /// <summary>A write handed to the journal at <paramref name="startedAt"/> (<see cref="Stopwatch.GetTimestamp"/>) is acknowledged.</summary>
    public void JournalWritten(long startedAt) => _journalWrite.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds);

    public void InterNodeMessage(string kind, InterNodeDirection direction, int bytes)
    {
        var tags = new TagList { { "kind", kind }, { "direction", direction == InterNodeDirection.Sent ? "sent" : "received" } };
        _interNodeMessages.Add(1, tags);
        _interNodeBytes.Add(bytes, tags);
    }

    public void Dispose() => Meter.Dispose();

    private IEnumerable<Measurement<int>> ObserveOccupants()
    {
        var (local, remote) = (0, 0);
        foreach (var room in _rooms.Snapshot())
        {
            local += room.LocalOccupants;
            remote += room.RemoteOccupants;
        }
        return [new(local, new KeyValuePair<string, object?>("location", "local")), new(remote, new KeyValuePair<string, object?>("location", "remote"))];
    }

    /// <summary>Every end and state, zeros included, so that an alert on split links sees 0 rather than no data.</summary>
    private IEnumerable<Measurement<int>> ObserveLinks()
    {
        var links = _links.Snapshot();
        foreach (var end in Enum.GetValues<LinkEnd>())
        foreach (var state in Enum.GetValues<LinkState>())
            yield return new Measurement<int>(links.Count(link => link.End == end && link.State == state),
                new KeyValuePair<string, object?>("end", LinkTelemetry.Label(end)),
                new KeyValuePair<string, object?>("state", LinkTelemetry.Label(state)));
    }

    private sealed class Holder(DmucMetrics metrics) : IExtension
    {
        public DmucMetrics Metrics { get; } = metrics;
    }

    private sealed class HolderId : ExtensionIdProvider<Holder>
    {
        public override Holder CreateExtension(ExtendedActorSystem system)
        {
            if (system.Settings.Setup.Get<DmucMetricsSetup>() is { HasValue: true } setup) return new Holder(setup.Value.Metrics);
            // An actor system without a node around it (the actor tests): its metrics go when it does.
            var own = new DmucMetrics();
            system.WhenTerminated.ContinueWith(_ => own.Dispose(), TaskScheduler.Default);
            return new Holder(own);
        }
    }
}

/// <summary>Hands the node's <see cref="DmucMetrics"/> to its actor system (the node also exports them).</summary>
public sealed class DmucMetricsSetup(DmucMetrics metrics) : Setup
{
    public DmucMetrics Metrics { get; } = metrics;
}

public enum LinkEnd { Primary, Replica }

public enum InterNodeDirection { Sent, Received }
