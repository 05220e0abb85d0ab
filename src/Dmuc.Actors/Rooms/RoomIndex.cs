using Akka.Actor;
using Akka.Persistence;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// The journal of <see cref="RoomIndexState"/>: a child of the room directory, which hands it every listing change
/// and gets <see cref="RoomIndexRecovered"/> once at start.
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
        Recover<RecoveryCompleted>(_ => Context.Parent.Tell(new RoomIndexRecovered(_state.Rooms)));
        Command<RoomListingChanged>(HandleListingChanged);
        Command<SaveSnapshotSuccess>(saved => DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static string PersistenceIdFor(Jid service) => "room-index:" + service;

    public static Props Props(Jid service) => Akka.Actor.Props.Create(() => new RoomIndex(service));

    private void HandleListingChanged(RoomListingChanged listing)
    {
        var events = _state.Process(listing);
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
}

/// <summary>The persistent rooms the index recovered, for the directory to list before they are loaded.</summary>
public sealed record RoomIndexRecovered(IReadOnlyCollection<IndexedRoom> Rooms);
