using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence.Sql;
using Dmuc.Actors.Rooms;
using Dmuc.Rooms;
using Microsoft.Data.Sqlite;

namespace Dmuc.Actors.Persistence;

public static class JournalHosting
{
    /// <summary>
    /// Akka.Persistence.Sql journal, snapshot store and query journal on SQLite or PostgreSQL, with room
    /// events bound to <see cref="RoomJournalSerializer"/>. HOCON rather than Akka.Persistence.Sql.Hosting's options,
    /// which lack some settings used here and would not serve actor systems built without Akka.Hosting
    /// (docs/operations.md, "Libraries"; the 1.5.70 served does not run beside Akka.Persistence.Sql 1.5.73).
    /// </summary>
    public static AkkaConfigurationBuilder AddRoomJournal(this AkkaConfigurationBuilder builder, JournalOptions journal) =>
        builder
            .AddHocon(RoomJournalHocon(journal), HoconAddMode.Prepend)
            .AddHocon(SqlPersistence.DefaultConfiguration, HoconAddMode.Append);

    /// <summary>
    /// The journal's whole configuration as one <see cref="Config"/>, for actor systems built without
    /// Akka.Hosting (tests, benchmarks): the same settings <see cref="AddRoomJournal"/> installs.
    /// </summary>
    public static Config RoomJournalConfig(JournalOptions journal) =>
        ConfigurationFactory.ParseString(RoomJournalHocon(journal)).WithFallback(SqlPersistence.DefaultConfiguration);

    /// <summary>Prepares the storage (SQLite: write-ahead log) and renders the HOCON for it.</summary>
    private static string RoomJournalHocon(JournalOptions journal)
    {
        if (journal.Provider == JournalProvider.Sqlite) EnableWriteAheadLog(journal.ConnectionString);
        var provider = journal.Provider == JournalProvider.Sqlite ? "SQLite.MS" : "PostgreSQL.15";
        // SQLite allows one writer at a time; more connections only contend for the file lock.
        var parallelism = journal.Provider == JournalProvider.Sqlite ? 1 : 4;
        // Microsoft.Data.Sqlite begins every other transaction with BEGIN IMMEDIATE, which takes the file's write lock:
        // each read (an archive page, a recovery) would then hold up the rooms' writes. A deferred read transaction
        // (what it does for read-uncommitted) reads a consistent snapshot beside the writer in WAL mode.
        var readIsolation = journal.Provider == JournalProvider.Sqlite ? "read-uncommitted" : "unspecified";
        var connection = Quote(journal.ConnectionString);
        return $$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  class = "{{typeof(RoomWriteJournal).AssemblyQualifiedNameWithoutVersion()}}"
                  connection-string = {{connection}}
                  provider-name = "{{provider}}"
                  auto-initialize = true
                  parallelism = {{parallelism}}
                  batch-size = 500
                  # Bind values as parameters: inlined literals make every insert a new SQL text to parse.
                  prefer-parameters-on-multirow-insert = true
                  # Rows per INSERT. Microsoft.Data.Sqlite looks each named parameter up in a linear list, so one
                  # statement for a whole batch costs rows² (strncmp was 9 % of the node's CPU with 100-row inserts).
                  db-round-trip-max-batch-size = {{RowsPerInsert}}
                  read-isolation-level = {{readIsolation}}
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  connection-string = {{connection}}
                  provider-name = "{{provider}}"
                  auto-initialize = true
                  read-isolation-level = {{readIsolation}}
                }
              }
              query.journal.sql {
                connection-string = {{connection}}
                provider-name = "{{provider}}"
                read-isolation-level = {{readIsolation}}
                # The read journal starts an actor that reads every new row's ordering, up to 10,000 at a time, each
                # second, and again at once while the batches come back full: what the tag and all-events queries wait
                # on. Rooms read only by persistence id (the archive, recovery) and the directory lists persistence ids,
                # so it only took the journal's time (4 % of the node's allocations at saturation, a poll a second when
                # idle). Polled rarely, it is still there for a query that would ever need it.
                journal-sequence-retrieval.query-delay = {{JournalSequencePollInterval}}
              }
            }
            {{ArchiveReader.Dispatcher}} {
              type = ForkJoinDispatcher
              throughput = 10
              dedicated-thread-pool {
                thread-count = 1
                threadtype = background
              }
            }
            akka.actor {
              serializers.room-journal = "Dmuc.Actors.Persistence.RoomJournalSerializer, Dmuc.Actors"
              serialization-bindings {
                "{{typeof(RoomEvent).AssemblyQualifiedNameWithoutVersion()}}" = room-journal
                "{{typeof(RoomSnapshot).AssemblyQualifiedNameWithoutVersion()}}" = room-journal
                "{{typeof(Rooms.RoomIndexEvent).AssemblyQualifiedNameWithoutVersion()}}" = room-journal
                "{{typeof(Rooms.RoomIndexSnapshot).AssemblyQualifiedNameWithoutVersion()}}" = room-journal
              }
            }
            """;
    }

    private const int RowsPerInsert = 10;
    private const string JournalSequencePollInterval = "10m";

    private static string AssemblyQualifiedNameWithoutVersion(this Type type) =>
        $"{type.FullName}, {type.Assembly.GetName().Name}";

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    /// <summary>WAL lets recovery reads proceed during writes and roughly triples write throughput.</summary>
    private static void EnableWriteAheadLog(string connectionString)
    {
        var directory = Path.GetDirectoryName(new SqliteConnectionStringBuilder(connectionString).DataSource);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}
