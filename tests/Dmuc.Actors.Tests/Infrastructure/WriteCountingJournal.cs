using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Configuration;
using Akka.Persistence;
using Dmuc.Actors.Persistence;

namespace Dmuc.Actors.Tests.Infrastructure;

/// <summary>The node's journal, counting the writes that carry each persistence id's events (how a writer batches them).</summary>
public sealed class WriteCountingJournal(Config config) : RoomWriteJournal(config)
{
    private static readonly ConcurrentDictionary<string, int> Writes = new();

    /// <summary>Put before <see cref="TempJournal.Config"/>: the journal plugin is this class.</summary>
    public static Config Config { get; } = ConfigurationFactory.ParseString(
        $"akka.persistence.journal.sql.class = \"{typeof(WriteCountingJournal).FullName}, {typeof(WriteCountingJournal).Assembly.GetName().Name}\"");

    /// <summary>Writes so far that held events of <paramref name="persistenceId"/>, in every actor system of the process.</summary>
    public static int WritesOf(string persistenceId) => Writes.GetValueOrDefault(persistenceId);

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        foreach (var persistenceId in writes.Select(write => write.PersistenceId).Distinct())
            Writes.AddOrUpdate(persistenceId, 1, (_, count) => count + 1);
        return base.WriteMessagesAsync(writes, cancellationToken);
    }
}
