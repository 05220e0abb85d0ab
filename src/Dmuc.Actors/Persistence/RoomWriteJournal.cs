using System.Collections.Immutable;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;

namespace Dmuc.Actors.Persistence;

/// <summary>
/// Akka.Persistence.Sql's journal, without one failure. A persistent actor that defers a handler (<c>DeferAsync</c>) while
/// an earlier write is in flight sends the journal a batch with nothing to write in it; Akka.Persistence hands the empty
/// list to <see cref="WriteMessagesAsync"/>, where <see cref="SqlWriteJournal"/> takes its first element and throws. The
/// handler still runs, but the journal's circuit breaker counts a failure: with many rooms busy at once (the many-rooms
/// benchmark creating a few thousand rooms) ten came in a row, the breaker opened, and every room's recovery and write
/// failed fast until it closed again (docs/benchmarks.md, "a burst of room creations").
/// </summary>
public class RoomWriteJournal(Config config) : SqlWriteJournal(config)
{
    private static readonly Task<IImmutableList<Exception>> NothingToWrite = Task.FromResult<IImmutableList<Exception>>(ImmutableList<Exception>.Empty);

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages as IReadOnlyCollection<AtomicWrite> ?? messages.ToList();
        return writes.Count == 0 ? NothingToWrite : base.WriteMessagesAsync(writes, cancellationToken);
    }
}
