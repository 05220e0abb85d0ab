namespace Dmuc.Actors.Replication;

/// <summary>
/// The nicks that left the room lately, and when. A replica node's next life knows nothing of what its users saw, so it
/// reports no roster at its netjoin; without this the room could not tell them who left while their node was down, and
/// those occupants stayed in their rosters for good (docs/protocol/netjoin.md §5). Kept in memory for
/// <see cref="KeptFor"/>, at most <see cref="MaxKept"/>: a node down longer has its users let go and told (333). Pure.
/// </summary>
public sealed class RecentDepartures
{
    public static readonly TimeSpan KeptFor = TimeSpan.FromMinutes(10);
    public const int MaxKept = 1_000;

    private readonly LinkedList<(string Nick, DateTimeOffset At)> _departures = new();

    public void Left(string nick, DateTimeOffset at)
    {
        _departures.AddLast((nick, at));
        while (_departures.Count > MaxKept || _departures.First!.Value.At < at - KeptFor) _departures.RemoveFirst();
    }

    /// <summary>The nicks that left at or after <paramref name="since"/> (every one kept when null), each once.</summary>
    public IReadOnlySet<string> Since(DateTimeOffset? since) =>
        _departures.Where(departure => since is null || departure.At >= since).Select(departure => departure.Nick).ToHashSet(StringComparer.Ordinal);
}
