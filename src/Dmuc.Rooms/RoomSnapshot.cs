namespace Dmuc.Rooms;

/// <summary>The durable state of a room: everything but its occupants.</summary>
public sealed record RoomSnapshot(
    bool Exists,
    RoomConfig Config,
    DateTimeOffset? LockedUntil,
    string Salt,
    IReadOnlyList<AffiliationEntry> Affiliations,
    RoomSubject? Subject,
    IReadOnlyList<HistoryEntry> History,
    RoomTombstone? Tombstone = null);
