using Akka;
using Akka.Actor;
using Akka.Persistence;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// The journal of <see cref="RoomIndexState"/>: a child of the room directory, which hands it every listing change and
/// asks it for what it holds at start (<see cref="ListIndexedRooms"/>). With rooms sharded it is a cluster singleton of the
/// primary-capable nodes, the stream's one writer, which every node's directory feeds and asks.
/// </summary>
public sealed class RoomIndex : ReceivePersistentActor
{
    private const int SnapshotEvery = 1000;

    private RoomIndexState _state = new();
    private int _eventsSinceSnapshot;

    public RoomIndex(Jid service)
    {
        PersistenceId = PersistenceIdFor(service);
        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is RoomIndexSnapshot snapshot) _state = RoomIndexState.FromSnapshot(snapshot);
        });
        Recover<RoomIndexEvent>(@event => _state.Apply(@event));
        // Asked during recovery, the answer waits for it (commands are stashed until it completes).
        Command<ListIndexedRooms>(_ => Sender.Tell(new RoomIndexRecovered(_state.Rooms, _state.OccupiedRooms)));
        Command<RoomListingChanged>(listing => Write(_state.Process(listing)));
        Command<TrackOccupancy>(_ => Write(_state.StartTrackingOccupancy()));
        Command<FlushRoomIndex>(_ => DeferAsync(Done.Instance, Sender.Tell));
        Command<SaveSnapshotSuccess>(saved => DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static string PersistenceIdFor(Jid service) => "room-index:" + service;

    public static Props Props(Jid service) => Akka.Actor.Props.Create(() => new RoomIndex(service));

    private void Write(IReadOnlyList<RoomIndexEvent> events)
    {
        if (events.Count == 0) return;
        // Applied now, so that the next change is decided against it; a failed write restarts the index from the journal.
        foreach (var @event in events) _state.Apply(@event);
        PersistAll(events, _ =>
        {
            if (++_eventsSinceSnapshot < SnapshotEvery) return;
            _eventsSinceSnapshot = 0;
            SaveSnapshot(_state.ToSnapshot());
        });
    }

    /// <summary>Every room of a journal written before occupancy was indexed has been started and reports itself.</summary>
    public sealed record TrackOccupancy
    {
        public static readonly TrackOccupancy Instance = new();
    }

    /// <summary>Answered with <see cref="Done"/> once every change handed to the index before it is written (at shutdown).</summary>
    public sealed record FlushRoomIndex
    {
        public static readonly FlushRoomIndex Instance = new();
    }
}

/// <summary>Asks the index for the rooms it holds; answered with <see cref="RoomIndexRecovered"/> once it has recovered.</summary>
public sealed record ListIndexedRooms
{
    public static readonly ListIndexedRooms Instance = new();
}

/// <summary>What the index recovered: the persistent rooms to list before they are loaded, and the rooms to load at once.</summary>
/// <param name="OccupiedRooms">Rooms that had occupants when the node stopped, to check them; null for a journal written
/// before occupancy was indexed, where every room is loaded once.</param>
public sealed record RoomIndexRecovered(IReadOnlyCollection<IndexedRoom> Rooms, IReadOnlyCollection<string>? OccupiedRooms);
