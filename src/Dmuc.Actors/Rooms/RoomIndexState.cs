using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Dmuc.Actors.Rooms;

/// <summary>A persistent room as the service lists it without loading it.</summary>
public sealed record IndexedRoom(string Room, string Name, bool IsPublic);

[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(RoomIndexed), "room-indexed")]
[JsonDerivedType(typeof(RoomUnindexed), "room-unindexed")]
public abstract record RoomIndexEvent;

/// <summary>A persistent room exists with this name and visibility (new, or changed).</summary>
public sealed record RoomIndexed(IndexedRoom Room) : RoomIndexEvent;

/// <summary>A room left the index: destroyed, or no longer persistent.</summary>
public sealed record RoomUnindexed(string Room) : RoomIndexEvent;

public sealed record RoomIndexSnapshot(IReadOnlyList<IndexedRoom> Rooms);

/// <summary>
/// Which persistent rooms the service has, so that a restarted node lists them (disco#items, the management API)
/// before anyone enters them, without recovering every room. Only what a listing shows is kept, and only when it
/// changes: occupant counts come and go with the rooms themselves, and temporary rooms do not outlive a restart.
/// </summary>
public sealed class RoomIndexState
{
    private ImmutableSortedDictionary<string, IndexedRoom> _rooms = ImmutableSortedDictionary.Create<string, IndexedRoom>(StringComparer.Ordinal);

    public IReadOnlyCollection<IndexedRoom> Rooms => _rooms.Values.ToList();

    public IReadOnlyList<RoomIndexEvent> Process(RoomListingChanged listing)
    {
        var room = listing.Room.ToString();
        if (!listing.Exists || !listing.IsPersistent)
            return _rooms.ContainsKey(room) ? [new RoomUnindexed(room)] : [];
        var indexed = new IndexedRoom(room, listing.Name, listing.IsPublic);
        return _rooms.GetValueOrDefault(room) == indexed ? [] : [new RoomIndexed(indexed)];
    }

    public void Apply(RoomIndexEvent @event) => _rooms = @event switch
    {
        RoomIndexed indexed => _rooms.SetItem(indexed.Room.Room, indexed.Room),
        RoomUnindexed unindexed => _rooms.Remove(unindexed.Room),
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event, "not a room index event"),
    };

    public RoomIndexSnapshot ToSnapshot() => new(_rooms.Values.ToList());

    public static RoomIndexState FromSnapshot(RoomIndexSnapshot snapshot)
    {
        var state = new RoomIndexState();
        foreach (var room in snapshot.Rooms) state.Apply(new RoomIndexed(room));
        return state;
    }
}
