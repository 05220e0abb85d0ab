using System.Runtime.CompilerServices;

namespace Dmuc.Rooms;

/// <summary>
/// Each occupant's presence as the roster shows it to an entrant (with real JIDs and without), built once and shared by
/// every entrant until the occupant changes. A join is quadratic in presences: building each roster entry again (a copy of
/// the occupant's presence, its items, the HMAC of its occupant id) for each entrant was the room's largest part of a join
/// of 500, and one shared element is also rendered once by the outbox for all the entrants of a burst. An occupant is a
/// record replaced on every change of its nick, role, sessions or presence, so a changed occupant is a new key; what the
/// view takes from outside the occupant (its affiliation, the room's salt for the occupant id) is checked on each use.
/// </summary>
internal sealed class RosterPresences
{
    private sealed record Cached(string Salt, PresenceViews Views);

    private readonly ConditionalWeakTable<Occupant, Cached> _cached = [];

    public PresenceViews Of(RoomData room, Occupant occupant)
    {
        if (_cached.TryGetValue(occupant, out var cached) && cached.Views.Affiliation == room.AffiliationOf(occupant.BareJid)
            && ReferenceEquals(cached.Salt, room.Salt))
            return cached.Views;
        var views = new PresenceViews(room, occupant, new PresenceNotice());
        _cached.AddOrUpdate(occupant, new Cached(room.Salt, views));
        return views;
    }
}
