using Akka.Actor;
using Akka.Persistence;
using Dmuc.Actors.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Dmuc.Actors.Tests;

/// <summary>The node's journal (<see cref="Dmuc.Actors.Persistence.RoomWriteJournal"/>) on SQLite, as the node configures it.</summary>
public sealed class RoomWriteJournalTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(new TempJournal().Config, "journal-test", output)
{
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A room that defers a send behind a write in flight sends the journal a batch with no write in it (only the deferred
    /// handler, which Akka.Persistence keeps to itself, so an empty batch is what the journal's write sees). Twenty in a row,
    /// more than the circuit breaker's max-failures (10), must neither fail nor open the breaker for the writes after them.
    /// </summary>
    [Fact]
    public void Batches_with_nothing_to_write_succeed_and_leave_the_journal_writing()
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        for (var empty = 1; empty <= 20; empty++)
        {
            journal.Tell(new WriteMessages([], TestActor, actorInstanceId: 1));
            ExpectMsg<WriteMessagesSuccessful>(Answer);
        }

        var persistent = new Persistent("an event", sequenceNr: 1, persistenceId: "room:after-deferrals", sender: ActorRefs.NoSender, writerGuid: "test");
        journal.Tell(new WriteMessages([new AtomicWrite(persistent)], TestActor, actorInstanceId: 1));
        ExpectMsg<WriteMessagesSuccessful>(Answer);
        Assert.Equal("an event", ExpectMsg<WriteMessageSuccess>(Answer).Persistent.Payload);
    }
}
