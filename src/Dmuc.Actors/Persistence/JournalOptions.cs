namespace Dmuc.Actors.Persistence;

public enum JournalProvider { Sqlite, PostgreSql }

/// <summary>Where rooms keep their journal and snapshots.</summary>
public sealed record JournalOptions(JournalProvider Provider, string ConnectionString)
{
    /// <summary>The embedded default: one SQLite file in the node's data directory.</summary>
    public static JournalOptions SqliteIn(string dataDirectory) =>
        new(JournalProvider.Sqlite, $"Data Source={Path.Combine(dataDirectory, "dmuc-journal.db")}");
}
