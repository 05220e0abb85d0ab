namespace Dmuc.Actors.Persistence;

public enum JournalProvider { Sqlite, PostgreSql }

/// <summary>
/// SQLite's <c>synchronous</c> for the journal's writes. Full: each write is synced to disk before the room echoes it, so
/// it survives a power loss. Normal: the log is synced only when it is checkpointed; a write survives the node's crash
/// (kill -9) but not the machine's, for far fewer disk waits on the write path (docs/operations.md, "The journal").
/// </summary>
public enum SqliteSynchronous { Full, Normal }

/// <summary>Where rooms keep their journal and snapshots.</summary>
public sealed record JournalOptions(JournalProvider Provider, string ConnectionString)
{
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Full;

    /// <summary>The embedded default: one SQLite file in the node's data directory.</summary>
    public static JournalOptions SqliteIn(string dataDirectory) =>
        new(JournalProvider.Sqlite, $"Data Source={Path.Combine(dataDirectory, "dmuc-journal.db")}");
}
