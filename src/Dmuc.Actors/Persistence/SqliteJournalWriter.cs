using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Dmuc.Actors.Persistence;

/// <summary>One row of Akka.Persistence.Sql's <c>journal</c> table, as its own writes fill it.</summary>
public sealed record JournalRowValues(string PersistenceId, long SequenceNr, long Created, byte[] Message, string Manifest, int SerializerId);

/// <summary>
/// Writes journal rows to SQLite through one connection and a prepared insert. What rooms hand it while a commit runs goes
/// into the next transaction together (group commit: one fsync for all of them). Akka.Persistence.Sql's own write path takes a
/// row through an Akka.Streams queue, linq2db and a fresh pooled connection: 45 % of what a lone message cost the node, with
/// 14 thread-pool hand-overs (docs/benchmarks.md, "what a message alone costs the node"). The rows are the ones the plugin
/// writes, in its tables, so its reads (recovery, the archive's queries) and deletes stay as they are.
/// A failed transaction is tried again one write at a time, so that a bad write (a sequence number taken twice) fails only
/// the room that sent it, not the rooms whose rows happened to share its transaction.
/// </summary>
public sealed class SqliteJournalWriter : IDisposable
{
    private const int MaxRowsPerTransaction = 1_000;

    private readonly string _connectionString;
    private readonly string _writerUuid = Guid.NewGuid().ToString("N");
    private readonly ConcurrentQueue<PendingWrite> _pending = new();
    /// <summary>Set while no drain runs: a write that finds it set starts one.</summary>
    private readonly ManualResetEventSlim _idle = new(initialState: true);
    private int _draining;
    private volatile bool _disposed;
    private SqliteConnection? _connection;
    private SqliteCommand? _insert;

    public SqliteJournalWriter(string connectionString) => _connectionString = connectionString;

    /// <summary>Completes once <paramref name="rows"/> are committed, all of them or none.</summary>
    public Task Write(IReadOnlyList<JournalRowValues> rows)
    {
        if (rows.Count == 0) return Task.CompletedTask;
        if (_disposed) return Task.FromException(new ObjectDisposedException(nameof(SqliteJournalWriter)));
        // Completed on the drain's thread: the journal's continuation only hands the results on, and running it there
        // saves a hop per write.
        var write = new PendingWrite(rows, new TaskCompletionSource());
        _pending.Enqueue(write);
        StartDrainUnlessRunning();
        return write.Committed.Task;
    }

    /// <summary>
    /// One drain at a time, on the thread pool rather than a thread of its own: a pool thread already awake (the journal
    /// actor's, done with its message) often takes it, where a dedicated thread must be woken for every lone message (tried:
    /// on the busy machine that doubled a lone message's latency).
    /// </summary>
    private void StartDrainUnlessRunning()
    {
        if (Interlocked.CompareExchange(ref _draining, 1, 0) != 0) return;
        _idle.Reset();
        ThreadPool.UnsafeQueueUserWorkItem(_ => Drain(), null);
    }

    private void Drain()
    {
        var group = new List<PendingWrite>();
        while (true)
        {
            while (_pending.TryDequeue(out var first))
            {
                group.Clear();
                group.Add(first);
                var rows = first.Rows.Count;
                while (rows < MaxRowsPerTransaction && _pending.TryDequeue(out var next))
                {
                    group.Add(next);
                    rows += next.Rows.Count;
                }
                CommitGroup(group);
            }
            _idle.Set();
            Volatile.Write(ref _draining, 0);
            // A write queued after the last look but before the flag was cleared found a drain running: take it here.
            if (_pending.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0) return;
            _idle.Reset();
        }
    }

    private void CommitGroup(List<PendingWrite> group)
    {
        try
        {
            Commit(group);
            foreach (var write in group) write.Committed.TrySetResult();
        }
        catch (Exception failure) when (group.Count == 1)
        {
            group[0].Committed.TrySetException(failure);
        }
        catch (Exception)
        {
            foreach (var write in group)
            {
                try
                {
                    Commit([write]);
                    write.Committed.TrySetResult();
                }
                catch (Exception failure)
                {
                    write.Committed.TrySetException(failure);
                }
            }
        }
    }

    private void Commit(IReadOnlyList<PendingWrite> writes)
    {
        var insert = Insert();
        using var transaction = _connection!.BeginTransaction(deferred: false);
        try
        {
            insert.Transaction = transaction;
            foreach (var write in writes)
            foreach (var row in write.Rows)
            {
                insert.Parameters[0].Value = row.Created;
                insert.Parameters[1].Value = row.PersistenceId;
                insert.Parameters[2].Value = row.SequenceNr;
                insert.Parameters[3].Value = row.Message;
                insert.Parameters[4].Value = row.Manifest;
                insert.Parameters[5].Value = row.SerializerId;
                insert.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        catch (Exception)
        {
            // A connection that failed mid-write (I/O error, locked past its timeout) is opened afresh for the next write.
            Close();
            throw;
        }
    }

    private SqliteCommand Insert()
    {
        if (_insert is not null) return _insert;
        _connection = new SqliteConnection(_connectionString);
        _connection.Open();
        using (var busyTimeout = _connection.CreateCommand())
        {
            // While another connection writes (the snapshot store, a deletion), SQLite itself retries within milliseconds.
            // Without it Microsoft.Data.Sqlite retries every 150 ms: one such wait a run was the 10,000 deliveries/s
            // benchmark's whole p99 (docs/benchmarks.md, the journal's own write path).
            busyTimeout.CommandText = $"PRAGMA busy_timeout={_connection.DefaultTimeout * 1000};";
            busyTimeout.ExecuteNonQuery();
        }
        _insert = _connection.CreateCommand();
        _insert.CommandText = """
            INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
            VALUES ($created, 0, $persistence_id, $sequence_number, $message, $manifest, $identifier, $writer_uuid)
            """;
        _insert.Parameters.Add("$created", SqliteType.Integer);
        _insert.Parameters.Add("$persistence_id", SqliteType.Text);
        _insert.Parameters.Add("$sequence_number", SqliteType.Integer);
        _insert.Parameters.Add("$message", SqliteType.Blob);
        _insert.Parameters.Add("$manifest", SqliteType.Text);
        _insert.Parameters.Add("$identifier", SqliteType.Integer);
        _insert.Parameters.AddWithValue("$writer_uuid", _writerUuid);
        _insert.Prepare();
        return _insert;
    }

    private void Close()
    {
        _insert?.Dispose();
        _insert = null;
        _connection?.Dispose();
        _connection = null;
    }

    /// <summary>Waits for what was handed before to be written, then closes the connection.</summary>
    public void Dispose()
    {
        _disposed = true;
        _idle.Wait();
        Close();
        _idle.Dispose();
    }

    private sealed record PendingWrite(IReadOnlyList<JournalRowValues> Rows, TaskCompletionSource Committed);
}
