using Akka.Configuration;
using Dmuc.Actors.Persistence;
using Microsoft.Data.Sqlite;

namespace Dmuc.Actors.Tests.Infrastructure;

/// <summary>
/// A SQLite journal in a file of its own, configured exactly as the node configures it. A file rather than
/// shared in-memory SQLite: with the latter, recovery failed with "no such table: journal".
/// </summary>
public sealed class TempJournal : IDisposable
{
    private static readonly Config TestSettings = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        """);

    public TempJournal()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("dmuc-actors-test-").FullName;
        Options = JournalOptions.SqliteIn(Directory);
        Config = TestSettings.WithFallback(JournalHosting.RoomJournalConfig(Options));
    }

    public string Directory { get; }
    public JournalOptions Options { get; }
    public Config Config { get; }

    /// <summary>Reads the journal table directly, bypassing Akka: what is really on disk right now.</summary>
    public long HighestSequenceNr(string persistenceId) => Scalar(
        "SELECT COALESCE(MAX(sequence_number), 0) FROM journal WHERE persistence_id = $id", persistenceId);

    private long Scalar(string sql, string persistenceId)
    {
        using var connection = new SqliteConnection(Options.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", persistenceId);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// From now on the database refuses every write of <paramref name="persistenceId"/>'s events (a trigger on the table), as a
    /// write that timed out fails: Akka.Persistence stops the writer. The journal's tables must exist (something recovered).
    /// </summary>
    public void RefuseWritesOf(string persistenceId) => Execute(
        $"CREATE TRIGGER refuse_writes BEFORE INSERT ON journal WHEN NEW.persistence_id = '{persistenceId}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");

    public void TakeWritesAgain() => Execute("DROP TRIGGER refuse_writes;");

    /// <summary>
    /// Holds the database's write lock until disposed: the journal's writes wait (SQLite retries a busy database), and what the
    /// writers decide meanwhile awaits its write.
    /// </summary>
    public IDisposable HoldWrites() => new WriteLock(Options.ConnectionString);

    private sealed class WriteLock : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteTransaction _transaction;

        public WriteLock(string connectionString)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            _transaction = _connection.BeginTransaction(deferred: false);
        }

        public void Dispose()
        {
            _transaction.Rollback();
            _connection.Dispose();
        }
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection(Options.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The oldest event the journal still holds for <paramref name="persistenceId"/>, 0 when none.</summary>
    public long LowestSequenceNr(string persistenceId) => Scalar(
        "SELECT COALESCE(MIN(sequence_number), 0) FROM journal WHERE persistence_id = $id AND deleted = 0", persistenceId);

    /// <summary>The events of <paramref name="persistenceId"/> on disk right now, oldest first, as their JSON.</summary>
    public IReadOnlyList<string> EventsAsJson(string persistenceId) => Rows(
        "SELECT message FROM journal WHERE persistence_id = $id ORDER BY sequence_number", persistenceId,
        row => System.Text.Encoding.UTF8.GetString((byte[])row[0]));

    /// <summary>Sequence numbers of the snapshots stored for <paramref name="persistenceId"/>, ascending.</summary>
    public IReadOnlyList<long> SnapshotSequenceNrs(string persistenceId) => Rows(
        "SELECT sequence_number FROM snapshot WHERE persistence_id = $id ORDER BY sequence_number", persistenceId,
        row => row.GetInt64(0));

    private List<T> Rows<T>(string sql, string persistenceId, Func<SqliteDataReader, T> read)
    {
        using var connection = new SqliteConnection(Options.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", persistenceId);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read()) rows.Add(read(reader));
        return rows;
    }

    public void Dispose()
    {
        // Pooled connections keep the file open; release them so the folder can go.
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; failing the test over it is not.
        }
    }
}
