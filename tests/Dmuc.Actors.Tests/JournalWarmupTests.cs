using Akka.Actor;
using Dmuc.Actors.Persistence;
using Dmuc.Actors.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Dmuc.Actors.Tests;

/// <summary><see cref="JournalWarmup"/> on the node's SQLite journal, as the node configures it.</summary>
public sealed class JournalWarmupTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(Journal.Config, "warmup-test", output)
{
    private static readonly TempJournal Journal = new();

    /// <summary>
    /// It starts the journal (whose tables are created when it starts: the query below fails without them), recovers, writes
    /// nothing, and stops.
    /// </summary>
    [Fact]
    public void Starts_the_journal_recovers_nothing_and_stops()
    {
        var warmup = Watch(Sys.ActorOf(Props.Create<JournalWarmup>(), JournalWarmup.Name));
        ExpectTerminated(warmup, TimeSpan.FromSeconds(20));
        Assert.Equal(0, Journal.HighestSequenceNr(JournalWarmup.Stream));
    }
}
