using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Microsoft.Data.Sqlite;

namespace Dmuc.Actors.Persistence;

/// <summary>
/// Copies the SQLite journal's write-ahead log into the database file on a timer, from a connection of its own. SQLite
/// otherwise does it inside whichever write crosses its threshold (1,000 pages): a megabyte copied and synced while every
/// room's write waits behind it, the periodic part of the three-host latency tail (docs/benchmarks.md, issue 11). The
/// journal's own connections have automatic checkpoints off (<see cref="JournalHosting"/>); this actor is then the only
/// thing that checkpoints, so a node must run it whenever its journal is SQLite.
/// </summary>
public sealed class JournalCheckpointer : ReceiveActor, IWithTimers
{
    public const string Name = "journal-checkpointer";
    public const string Dispatcher = "dmuc.journal-checkpointer-dispatcher";

    private readonly string _connectionString;
    private readonly string _walPath;
    private readonly WalCheckpointPolicy _policy;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private SqliteConnection? _connection;

    public ITimerScheduler Timers { get; set; } = null!;

    public JournalCheckpointer(string connectionString, WalCheckpointPolicy policy)
    {
        _connectionString = connectionString;
        _walPath = new SqliteConnectionStringBuilder(connectionString).DataSource + "-wal";
        _policy = policy;
        Receive<CheckpointDue>(_ => CheckpointWriteAheadLog());
    }

    /// <summary>Blocking file work: on a thread of its own, so no actor waits behind a checkpoint.</summary>
    public static Props Props(JournalOptions journal, WalCheckpointPolicy policy) =>
        Akka.Actor.Props.Create(() => new JournalCheckpointer(journal.ConnectionString, policy)).WithDispatcher(Dispatcher);

    public const string DispatcherHocon = Dispatcher + """
         {
          type = PinnedDispatcher
          executor = thread-pool-executor
        }
        """;

    protected override void PreStart() => Timers.StartPeriodicTimer(nameof(CheckpointDue), CheckpointDue.Instance, _policy.Interval);

    protected override void PostStop() => _connection?.Dispose();

    private void CheckpointWriteAheadLog()
    {
        var walBytes = File.Exists(_walPath) ? new FileInfo(_walPath).Length : 0;
        foreach (var mode in _policy.ModesFor(walBytes))
        {
            try
            {
                _connection ??= Open();
                using var command = _connection.CreateCommand();
                command.CommandText = mode == WalCheckpointMode.Truncate ? "PRAGMA wal_checkpoint(TRUNCATE);" : "PRAGMA wal_checkpoint(PASSIVE);";
                command.ExecuteNonQuery();
                if (mode == WalCheckpointMode.Truncate) _log.Debug("Journal write-ahead log truncated at {0:N0} bytes", walBytes);
            }
            catch (SqliteException e)
            {
                // The next tick tries again; a failed checkpoint loses nothing (the log keeps every frame).
                _log.Warning(e, "Journal checkpoint ({0}) failed", mode);
                _connection?.Dispose();
                _connection = null;
                return;
            }
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // With a busy handler, a truncating checkpoint waits for the writer and every reader to finish, holding off new writes
        // while it waits: behind an archive read, seconds. Without one it copies what it can, gives up at once (checked with a
        // write under way: 0 ms) and the next tick tries again. Microsoft.Data.Sqlite sets none today; this says so for good.
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout=0;";
        command.ExecuteNonQuery();
        return connection;
    }

    /// <summary>The timer's tick.</summary>
    public sealed record CheckpointDue
    {
        public static CheckpointDue Instance { get; } = new();
    }
}

public static class JournalCheckpointerHosting
{
    /// <summary>The checkpointer for a SQLite journal; nothing for PostgreSQL.</summary>
    public static AkkaConfigurationBuilder AddJournalCheckpointer(this AkkaConfigurationBuilder builder, JournalOptions journal) =>
        journal.Provider != JournalProvider.Sqlite
            ? builder
            : builder.WithActors((system, _) =>
                system.ActorOf(JournalCheckpointer.Props(journal, WalCheckpointPolicy.Default), JournalCheckpointer.Name));
}
