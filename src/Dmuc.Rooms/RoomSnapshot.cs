namespace Dmuc.Rooms;

/// <summary>The durable state of a room.</summary>
/// <param name="Occupants">Every occupant session, each occupant's first session first; null in snapshots taken before
/// occupants were durable (they recover an empty room).</param>
/// <param name="Relays">How far the room processed what each relay numbered for it.</param>
/// <param name="Receipts">What each relay's server was last handed (<see cref="RelayDelivered"/>).</param>
/// <param name="ArchiveExpiredThrough">The journal position up to which retention expired the archive.</param>
/// <param name="LetGo">The sessions the room let go without their word (<see cref="SessionsLetGo"/>).</param>
/// <param name="Departures">The nicks that left lately (<see cref="RecentDepartures"/>), oldest first.</param>
public sealed record RoomSnapshot(
    bool Exists,
    RoomConfig Config,
    DateTimeOffset? LockedUntil,
    string Salt,
    IReadOnlyList<AffiliationEntry> Affiliations,
    RoomSubject? Subject,
    IReadOnlyList<HistoryEntry> History,
    RoomTombstone? Tombstone = null,
    IReadOnlyList<OccupantSessionUpdated>? Occupants = null,
    IReadOnlyList<RelayPosition>? Relays = null,
    long ArchiveExpiredThrough = 0,
    IReadOnlyList<RelayReceipt>? Receipts = null,
    IReadOnlyList<LetGoSession>? LetGo = null,
    IReadOnlyList<Departure>? Departures = null);
