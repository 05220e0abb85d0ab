using Akka;
using Akka.Actor;
using Akka.Persistence;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// The journal of <see cref="RoomIndexState"/>: a child of <see cref="RoomIndexSupervisor"/>, which hands it every listing
/// change and asks it for what it holds (<see cref="ListIndexedRooms"/>), and which it tells when each change is written
/// (<see cref="ChangeWritten"/>). Changes that arrive while a write is in flight go to the journal together in the next
/// write (<c>PersistAllAsync</c>): one write per change fell behind 100,000 room creations (docs/benchmarks.md).
/// </summary>
public sealed class RoomIndex : ReceivePersistentActor
{
    private const int FewestEventsBetweenSnapshots = 1000;

    private RoomIndexState _state = new();
    private int _eventsSinceSnapshot;
    private bool _snapshotInFlight;

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
        Command<SaveSnapshotSuccess>(saved =>
        {
            _snapshotInFlight = false;
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(_ => _snapshotInFlight = false);
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static string PersistenceIdFor(Jid service) => "room-index:" + service;

    public static Props Props(Jid service) => Akka.Actor.Props.Create(() => new RoomIndex(service));

    /// <summary>
    /// Applied now, so that the next change is decided against it; a failed write stops the index, and its supervisor starts
    /// it again from the journal with the changes not yet written. A change that writes nothing is still told, in its turn.
    /// </summary>
    private void Write(IReadOnlyList<RoomIndexEvent> events)
    {
        foreach (var @event in events) _state.Apply(@event);
        if (events.Count > 0)
            PersistAllAsync(events, _ =>
            {
                _eventsSinceSnapshot++;
                SnapshotIfDue();
            });
        DeferAsync(ChangeWritten.Instance, Context.Parent.Tell);
    }

    /// <summary>
    /// A snapshot holds every room. Taken every 1,000 events, creating 100,000 rooms serialised a snapshot of up to 5 MB some
    /// 300 times over, faster than SQLite took them: they piled up in memory (a quarter of the node's while creating) and in
    /// the journal's queue. So one at a time, and at most one per quarter of the index's rooms in events: the bytes written
    /// per event stay bounded, and a recovery replays at most that many events past the snapshot.
    /// </summary>
    private void SnapshotIfDue()
    {
        if (_snapshotInFlight || _eventsSinceSnapshot < Math.Max(FewestEventsBetweenSnapshots, _state.RoomCount / 4)) return;
        _snapshotInFlight = true;
        _eventsSinceSnapshot = 0;
        // Once all the state holds is written, as for a room (RoomActor.SnapshotIfDue): changes are applied ahead of their writes.
        DeferAsync(_state.ToSnapshot(), SaveSnapshot);
    }

    /// <summary>The oldest change handed to the index and not yet told written is in the journal now.</summary>
    public sealed record ChangeWritten
    {
        public static readonly ChangeWritten Instance = new();
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

/// <summary>The index stopped (its journal failed) before it said what it holds; it is asked again once it is started again.</summary>
public sealed record RoomIndexUnavailable
{
    public static readonly RoomIndexUnavailable Instance = new();
}
