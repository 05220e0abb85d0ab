using Akka.Actor;
using Akka.Event;
using Dmuc.Xmpp;

namespace Dmuc.Actors.Rooms;

/// <summary>
/// Keeps the room index (<see cref="RoomIndex"/>, its child) running. Akka.Persistence stops a persistent actor whose journal
/// fails a write or a recovery (a write timed out under a burst of room creations); an index left stopped would leave every
/// room created or changed from then on out of the listings after the next restart. This starts it again, 1 s later and
/// doubling to 30 s while the journal keeps failing, and hands it again every change it had not yet told written: what the
/// failed write held, and what came meanwhile. The index writes only what differs from its journal, so a change handed
/// twice is written once. The room directory's child with rooms local; with rooms sharded, the cluster singleton that every
/// primary node's directory feeds and asks (<see cref="RoomShards.StartIndex"/>).
/// </summary>
public sealed class RoomIndexSupervisor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan FirstRestartDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestRestartDelay = TimeSpan.FromSeconds(30);

    private readonly Jid _service;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // In the order handed to the index, which tells them written in that order (RoomIndex.ChangeWritten).
    private readonly Queue<object> _unwritten = new();
    private readonly List<IActorRef> _waitingForRooms = [];
    // Null while stopped.
    private IActorRef? _index;
    private TimeSpan _restartDelay = FirstRestartDelay;

    public RoomIndexSupervisor(Jid service)
    {
        _service = service;
        Receive<RoomListingChanged>(HandToIndex);
        Receive<RoomIndex.TrackOccupancy>(HandToIndex);
        Receive<RoomIndex.ChangeWritten>(_ => Sender.Equals(_index), _ =>
        {
            _unwritten.Dequeue();
            _restartDelay = FirstRestartDelay;
        });
        Receive<ListIndexedRooms>(_ => HandleListIndexedRooms());
        Receive<RoomIndexRecovered>(_ => Sender.Equals(_index), HandleIndexRecovered);
        Receive<RoomIndex.FlushRoomIndex>(flush =>
        {
            if (_index is null) Sender.Tell(new Status.Failure(new InvalidOperationException("the room index is stopped; its journal failed")));
            else _index.Forward(flush);
        });
        Receive<Terminated>(stopped => stopped.ActorRef.Equals(_index), _ => HandleIndexStopped());
        Receive<RestartIndex>(_ => StartIndex());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(Jid service) => Akka.Actor.Props.Create(() => new RoomIndexSupervisor(service));

    protected override void PreStart() => StartIndex();

    private void HandToIndex(object change)
    {
        _unwritten.Enqueue(change);
        _index?.Tell(change);
    }

    /// <summary>Asked once for all who wait, and answered to each of them.</summary>
    private void HandleListIndexedRooms()
    {
        _waitingForRooms.Add(Sender);
        if (_waitingForRooms.Count == 1) _index?.Tell(ListIndexedRooms.Instance);
    }

    private void HandleIndexRecovered(RoomIndexRecovered recovered)
    {
        foreach (var asker in _waitingForRooms) asker.Tell(recovered);
        _waitingForRooms.Clear();
        _restartDelay = FirstRestartDelay;
    }

    private void StartIndex()
    {
        _index = Context.Watch(Context.ActorOf(RoomIndex.Props(_service), "journal"));
        foreach (var change in _unwritten) _index.Tell(change);
        if (_waitingForRooms.Count > 0) _index.Tell(ListIndexedRooms.Instance);
    }

    /// <summary>
    /// Those waiting for what the index holds are told it is unavailable (the directory then lists what the rooms themselves
    /// report rather than never answer) and still get the answer of the index started again.
    /// </summary>
    private void HandleIndexStopped()
    {
        _index = null;
        foreach (var asker in _waitingForRooms) asker.Tell(RoomIndexUnavailable.Instance);
        _log.Warning("The room index stopped (its journal failed) with {0} changes not written; starting it again in {1}",
            _unwritten.Count, _restartDelay);
        Timers.StartSingleTimer(nameof(RestartIndex), RestartIndex.Instance, _restartDelay);
        _restartDelay = TimeSpan.FromTicks(Math.Min(_restartDelay.Ticks * 2, LongestRestartDelay.Ticks));
    }

    /// <summary>The timer that starts a stopped index again.</summary>
    private sealed record RestartIndex
    {
        public static readonly RestartIndex Instance = new();
    }
}
