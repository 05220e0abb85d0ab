namespace Dmuc.Actors.Replication;

/// <summary>
/// When a replica host's receipt goes to the room's journal (<see cref="Dmuc.Rooms.RelayDelivered"/>, docs/protocol/netjoin.md
/// §5): a busy room gets one per host every few milliseconds, and one write each would cost more than the message it covers.
/// A receipt is journaled at once when the host's last journaled one is at least <paramref name="interval"/> old (a quiet
/// room's), otherwise the host's newest is journaled once that much time has passed, or at once when its link splits (its
/// node may be gone, and its next incarnation is resumed from this). So a room that restarts knows each host's position
/// to within <paramref name="interval"/>.
/// A waiting receipt also rides along with the room's next write of its own (<see cref="RidesAlong"/>) once its host's
/// last journaled one is a tenth of the interval old: that costs a row, not a write, and keeps a busy room's journaled
/// position a message or two behind, not up to a second (a CI run's primary crash resent two seconds of its own host's
/// messages when the due receipt's write came late on a loaded machine).
/// </summary>
public sealed class ReceiptJournaling(TimeSpan interval)
{
    private readonly TimeSpan _rideAlongGap = interval / 10;

    private readonly Dictionary<string, DateTimeOffset> _journaledAt = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unjournaled = new(StringComparer.Ordinal);

    /// <summary>Whether a receipt of <paramref name="host"/> arriving now is journaled now; if not, it waits (<see cref="DueAt"/>).</summary>
    public bool JournalsNow(string host, DateTimeOffset now)
    {
        if (_journaledAt.TryGetValue(host, out var at) && now - at < interval)
        {
            _unjournaled.Add(host);
            return false;
        }
        Journaled(host, now);
        return true;
    }

    /// <summary>The hosts whose waiting receipt goes with a write the room makes now, each then counted as journaled.</summary>
    public IReadOnlyList<string> RidesAlong(DateTimeOffset now)
    {
        // Asked for every write of the room: nothing is allocated unless a receipt rides along.
        List<string>? riding = null;
        foreach (var host in _unjournaled)
            if (now - _journaledAt[host] >= _rideAlongGap) (riding ??= []).Add(host);
        if (riding is null) return [];
        foreach (var host in riding) Journaled(host, now);
        return riding;
    }

    /// <summary>Whether <paramref name="host"/> has a receipt newer than its last journaled one.</summary>
    public bool Waits(string host) => _unjournaled.Contains(host);

    /// <summary>When the receipt of <paramref name="host"/> that waits is to be journaled; null when none waits.</summary>
    public DateTimeOffset? DueAt(string host) => Waits(host) ? _journaledAt[host] + interval : null;

    /// <summary>The newest receipt of <paramref name="host"/> was journaled at <paramref name="now"/>.</summary>
    public void Journaled(string host, DateTimeOffset now)
    {
        _journaledAt[host] = now;
        _unjournaled.Remove(host);
    }
}
