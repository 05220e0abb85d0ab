using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Sql.Journal;
using Akka.Serialization;
using Akka.Util;

namespace Dmuc.Actors.Persistence;

/// <summary>
/// Akka.Persistence.Sql's journal, with Dmuc's own write path on SQLite (<see cref="SqliteJournalWriter"/>): the same rows in
/// the same tables, so the plugin's reads, queries and deletes work on them unchanged. PostgreSQL keeps the plugin's writes.
/// Also without one failure of the plugin: a persistent actor that defers a handler (<c>DeferAsync</c>) while an earlier
/// write is in flight sends the journal a batch with nothing to write in it, where <see cref="SqlWriteJournal"/> takes its
/// first element and throws. The handler still runs, but the journal's circuit breaker counts a failure: with many rooms
/// busy at once (the many-rooms benchmark creating a few thousand rooms) ten came in a row, the breaker opened, and every
/// room's recovery and write failed fast until it closed again (docs/benchmarks.md, "a burst of room creations").
/// </summary>
public class RoomWriteJournal : SqlWriteJournal
{
    private static readonly Task<IImmutableList<Exception>> NothingToWrite = Task.FromResult<IImmutableList<Exception>>(ImmutableList<Exception>.Empty);

    private readonly SqliteJournalWriter? _sqlite;
    private readonly Akka.Serialization.Serialization _serialization;
    /// <summary>Each persistence id's last write not yet committed: a recovery reads the highest sequence number after it.</summary>
    private readonly ConcurrentDictionary<string, Task> _writesInFlight = new();

    public RoomWriteJournal(Config config) : base(config)
    {
        _serialization = Context.System.Serialization;
        if (config.GetString("provider-name", "").StartsWith("SQLite", StringComparison.OrdinalIgnoreCase))
            _sqlite = new SqliteJournalWriter(config.GetString("connection-string"));
    }

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages as IReadOnlyCollection<AtomicWrite> ?? messages.ToList();
        if (writes.Count == 0) return NothingToWrite;
        // Tags go to the plugin's tag table, which only its own writes fill; rooms tag nothing.
        if (_sqlite is null || writes.Any(IsTagged)) return base.WriteMessagesAsync(writes, cancellationToken);
        return WriteToSqlite(_sqlite, writes);
    }

    private async Task<IImmutableList<Exception>> WriteToSqlite(SqliteJournalWriter writer, IReadOnlyCollection<AtomicWrite> writes)
    {
        var now = DateTime.UtcNow.Ticks;
        var rows = new List<JournalRowValues>();
        var rejections = new Exception?[writes.Count];
        var index = 0;
        foreach (var write in writes)
        {
            try
            {
                var payloads = (IImmutableList<IPersistentRepresentation>)write.Payload;
                var serialized = new JournalRowValues[payloads.Count];
                for (var i = 0; i < payloads.Count; i++) serialized[i] = RowOf(payloads[i], now);
                rows.AddRange(serialized);
            }
            catch (Exception rejected)
            {
                // As the plugin does: a write that cannot be serialized is rejected alone, and its writer goes on.
                rejections[index] = rejected;
            }
            index++;
        }
        var committed = writer.Write(rows);
        foreach (var persistenceId in writes.Select(write => write.PersistenceId).Distinct())
        {
            _writesInFlight[persistenceId] = committed;
            _ = committed.ContinueWith(_ => _writesInFlight.TryRemove(new KeyValuePair<string, Task>(persistenceId, committed)),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        await committed;
        // One entry per write, null where it was written.
        return rejections.ToImmutableList()!;
    }

    private JournalRowValues RowOf(IPersistentRepresentation representation, long now)
    {
        var payload = representation.Payload;
        var serializer = _serialization.FindSerializerFor(payload);
        var manifest = serializer switch
        {
            SerializerWithStringManifest withManifest => withManifest.Manifest(payload),
            { IncludeManifest: true } => payload.GetType().TypeQualifiedName(),
            _ => string.Empty,
        };
        var message = Akka.Serialization.Serialization.WithTransport(_serialization.System, () => serializer.ToBinary(payload));
        return new JournalRowValues(representation.PersistenceId, representation.SequenceNr,
            representation.Timestamp == 0 ? now : representation.Timestamp, message, manifest, serializer.Identifier);
    }

    private static bool IsTagged(AtomicWrite write) =>
        ((IImmutableList<IPersistentRepresentation>)write.Payload).Any(representation => representation.Payload is Tagged);

    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        if (_writesInFlight.TryGetValue(persistenceId, out var inFlight))
        {
            // Whether it committed or not, only once it is done does the table say.
            await inFlight.ContinueWith(_ => { }, TaskScheduler.Default);
        }
        return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
    }

    protected override void PostStop()
    {
        _sqlite?.Dispose();
        base.PostStop();
    }
}
