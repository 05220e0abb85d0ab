using System.Collections.Immutable;

namespace Dmuc.Rooms;

/// <summary>
/// The nicks that left the room lately, and when (<see cref="OccupantSessionLeft.At"/>). A replica node's next life knows
/// nothing of what its users saw, so it reports no roster at its netjoin; without this the room could not tell them who left
/// while their node was down, and those occupants stayed in their rosters for good (docs/protocol/netjoin.md §5). Kept for
/// <see cref="KeptFor"/>, at most <see cref="MaxKept"/>: a node down longer has its users let go and told (333). Rebuilt from
/// the journal and kept in snapshots, so a restarted primary still tells them. Immutable: the room's copies share it.
/// </summary>
public sealed class RecentDepartures
{
    public static readonly TimeSpan KeptFor = TimeSpan.FromMinutes(10);
    public const int MaxKept = 1_000;

    public static readonly RecentDepartures None = new([]);

    private RecentDepartures(ImmutableList<Departure> departures) => All = departures;

    /// <summary>Oldest first, as a snapshot keeps them.</summary>
    public ImmutableList<Departure> All { get; }

    public static RecentDepartures Of(IEnumerable<Departure> departures) => new([.. departures]);

    public RecentDepartures Left(string nick, DateTimeOffset at)
    {
        var departures = All.Add(new Departure(nick, at));
        var expired = Math.Max(departures.Count - MaxKept, departures.FindIndex(departure => departure.At >= at - KeptFor));
        return new(expired > 0 ? departures.RemoveRange(0, expired) : departures);
    }

    /// <summary>The nicks that left at or after <paramref name="since"/> (every one kept when null), each once.</summary>
    public IReadOnlySet<string> Since(DateTimeOffset? since) =>
        All.Where(departure => since is null || departure.At >= since).Select(departure => departure.Nick).ToHashSet(StringComparer.Ordinal);
}

/// <summary>The occupant <paramref name="Nick"/> left the room at <paramref name="At"/>.</summary>
public sealed record Departure(string Nick, DateTimeOffset At);
