namespace Dmuc.Actors.Persistence;

public enum WalCheckpointMode { Passive, Truncate }

/// <summary>
/// When the SQLite journal's write-ahead log is copied into the database file, off the journal's write path
/// (<see cref="JournalCheckpointer"/>). A passive checkpoint runs beside the writer and never makes it wait, but the log
/// file can only start over at a moment no write came in since the last checkpoint: under steady writes it would grow
/// without end. Past <see cref="TruncateAbove"/> bytes a truncating checkpoint follows the passive one at once: it holds the
/// writer only to copy and sync what came in between the two, and gives up when a write or a read is under way (the next
/// interval tries again).
/// </summary>
public sealed record WalCheckpointPolicy(TimeSpan Interval, long TruncateAbove)
{
    public static WalCheckpointPolicy Default { get; } = new(TimeSpan.FromSeconds(1), TruncateAbove: 16L * 1024 * 1024);

    /// <summary>The checkpoints to run, in order, for a log of <paramref name="walBytes"/>.</summary>
    public IReadOnlyList<WalCheckpointMode> ModesFor(long walBytes) => walBytes switch
    {
        0 => [],
        _ when walBytes > TruncateAbove => [WalCheckpointMode.Passive, WalCheckpointMode.Truncate],
        _ => [WalCheckpointMode.Passive],
    };
}
