using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Dmuc.Actors.Rooms;

/// <summary>A persistent room as the service lists it without loading it.</summary>
public sealed record IndexedRoom(string Room, string Name, bool IsPublic);

[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(RoomIndexed), "room-indexed")]
[JsonDerivedType(typeof(RoomUnindexed), "room-unindexed")]
[JsonDerivedType(typeof(RoomOccupied), "room-occupied")]
[JsonDerivedType(typeof(RoomEmptied), "room-emptied")]
[JsonDerivedType(typeof(OccupancyTracked), "occupancy-tracked")]
public abstract record RoomIndexEvent;

/// <summary>A persistent room exists with this name and visibility (new, or changed).</summary>
public sealed record RoomIndexed(IndexedRoom Room) : RoomIndexEvent;

/// <summary>A room left the index: destroyed, or no longer persistent.</summary>
public sealed record RoomUnindexed(string Room) : RoomIndexEvent;

/// <summary>A room (persistent or not) has occupants: after a crash it is loaded at start to check them.</summary>
public sealed record RoomOccupied(string Room) : RoomIndexEvent;

/// <summary>A room has no occupants any more (or is gone): a start leaves it in the journal until someone needs it.</summary>
public sealed record RoomEmptied(string Room) : RoomIndexEvent;

/// <summary>
/// From here on the index knows every occupied room. A journal written before occupancy was indexed has not got this
/// event, and its node loads every room once at start instead (as it did then), after which it has.
/// </summary>
public sealed record OccupancyTracked : RoomIndexEvent;

/// <param name="Occupied">Null in a snapshot written before occupancy was indexed.</param>
public sealed record RoomIndexSnapshot(IReadOnlyList<IndexedRoom> Rooms, IReadOnlyList<string>? Occupied = null);

/// <summary>
/// Which persistent rooms the service has, so that a restarted node lists them (disco#items, the management API)
/// before anyone enters them, and which rooms had occupants, so that a node that crashed loads only those to check
/// their occupants (docs/architecture.md): start-up does not grow with rooms that are idle. Only what changes a
/// listing or a room's occupied/empty state is written: occupant counts come and go with the rooms themselves, and
/// temporary rooms are listed only while loaded.
/// </summary>
public sealed class RoomIndexState
{
    private ImmutableSortedDictionary<string, IndexedRoom> _rooms = ImmutableSortedDictionary.Create<string, IndexedRoom>(StringComparer.Ordinal);
    private ImmutableSortedSet<string> _occupied = ImmutableSortedSet.Create<string>(StringComparer.Ordinal);

    public IReadOnlyCollection<IndexedRoom> Rooms => _rooms.Values.ToList();

    public int RoomCount => _rooms.Count;

    /// <summary>Rooms that had occupants when the index last heard of them; null until occupancy is tracked.</summary>
    public IReadOnlyCollection<string>? OccupiedRooms => TracksOccupancy ? _occupied : null;

    public bool TracksOccupancy { get; private set; }

    public IReadOnlyList<RoomIndexEvent> Process(RoomListingChanged listing)
    {
        var room = listing.Room.ToString();
        var events = new List<RoomIndexEvent>(2);
        if (!listing.Exists || !listing.IsPersistent)
        {
            if (_rooms.ContainsKey(room)) events.Add(new RoomUnindexed(room));
        }
        else
        {
            var indexed = new IndexedRoom(room, listing.Name, listing.IsPublic);
            if (_rooms.GetValueOrDefault(room) != indexed) events.Add(new RoomIndexed(indexed));
        }
        var occupied = listing.Exists && listing.Occupants > 0;
        if (occupied != _occupied.Contains(room)) events.Add(occupied ? new RoomOccupied(room) : new RoomEmptied(room));
        return events;
    }

    /// <summary>The event that starts tracking occupancy, once every room of an older journal has reported itself.</summary>
    public IReadOnlyList<RoomIndexEvent> StartTrackingOccupancy() => TracksOccupancy ? [] : [new OccupancyTracked()];

    public void Apply(RoomIndexEvent @event)
    {
        switch (@event)
        {
            case RoomIndexed indexed: _rooms = _rooms.SetItem(indexed.Room.Room, indexed.Room); break;
            case RoomUnindexed unindexed: _rooms = _rooms.Remove(unindexed.Room); break;
            case RoomOccupied occupied: _occupied = _occupied.Add(occupied.Room); break;
            case RoomEmptied emptied: _occupied = _occupied.Remove(emptied.Room); break;
            case OccupancyTracked: TracksOccupancy = true; break;
            default: throw new ArgumentOutOfRangeException(nameof(@event), @event, "not a room index event");
        }
    }

    public RoomIndexSnapshot ToSnapshot() => new(_rooms.Values.ToList(), TracksOccupancy ? _occupied.ToList() : null);

    public static RoomIndexState FromSnapshot(RoomIndexSnapshot snapshot)
    {
        var state = new RoomIndexState();
        foreach (var room in snapshot.Rooms) state.Apply(new RoomIndexed(room));
        if (snapshot.Occupied is not { } occupied) return state;
        foreach (var room in occupied) state.Apply(new RoomOccupied(room));
        state.Apply(new OccupancyTracked());
        return state;
    }
}
