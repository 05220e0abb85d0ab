using Akka.Actor;
using Akka.Configuration;
using Dmuc.Actors.Persistence;
using Dmuc.Actors.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Dmuc.Actors.Tests;

/// <summary><see cref="JournalWarmup"/> on the node's SQLite journal, as the node configures it.</summary>
public sealed class JournalWarmupTests(ITestOutputHelper output)
    : Akka.TestKit.Xunit2.TestKit(ConfigurationFactory.ParseString("akka.loglevel = INFO").WithFallback(Journal.Config), "warmup-test", output)
{
    private static readonly TempJournal Journal = new();

    /// <summary>
    /// It starts the journal (whose tables are created when it starts: the query below fails without them), recovers, writes
    /// a snapshot and deletes it (so the snapshot store has compiled both), leaves nothing behind, and stops.
    /// </summary>
    [Fact]
    public void Starts_the_journal_and_the_snapshot_store_leaves_nothing_and_stops()
    {
        var saved = CreateTestProbe();
        Sys.EventStream.Subscribe(saved.Ref, typeof(Akka.Event.Info));
        var warmup = Watch(Sys.ActorOf(Props.Create<JournalWarmup>(), JournalWarmup.Name));
        ExpectTerminated(warmup, TimeSpan.FromSeconds(20));
        saved.FishForMessage<Akka.Event.Info>(info => info.Message.ToString()!.StartsWith("The snapshot store saved and deleted"), TimeSpan.FromSeconds(5));
        Assert.Equal(0, Journal.HighestSequenceNr(JournalWarmup.Stream));
        Assert.Empty(Journal.SnapshotSequenceNrs(JournalWarmup.Stream));
    }
}
