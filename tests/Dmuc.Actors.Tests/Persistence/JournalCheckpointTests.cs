using Dmuc.Actors.Persistence;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using Xunit.Abstractions;

namespace Dmuc.Actors.Tests.Persistence;

/// <summary>
/// The journal's writes never copy the write-ahead log into the database themselves (that stalled every room's writes
/// behind one of them); <see cref="JournalCheckpointer"/> does it beside them.
/// </summary>
public sealed class JournalCheckpointTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    // Each message is a transaction of its own here, some 6 KB of log: well past SQLite's own threshold (1,000 pages, 4 MB).
    private const int Messages = 1000;

    [Fact]
    public async Task A_room_s_writes_leave_the_log_in_the_write_ahead_file()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        for (var i = 1; i <= Messages; i++) await node.SayAsync(RoomStanzas.Owner, $"message {i}");

        var (database, writeAheadLog) = Journal.FileSizes();
        Assert.True(writeAheadLog > 4 * 1024 * 1024, $"the log holds {writeAheadLog:N0} bytes");
        // What SQLite's automatic checkpoints would have copied: every message's row and index entries.
        Assert.True(database < 64 * 1024, $"the database file holds {database:N0} bytes: something checkpointed");
    }

    [Fact]
    public async Task The_checkpointer_copies_the_log_into_the_database_and_truncates_it_past_its_bound()
    {
        var node = StartNode();
        node.System.ActorOf(JournalCheckpointer.Props(Journal.Options, new WalCheckpointPolicy(TimeSpan.FromMilliseconds(100), TruncateAbove: 256 * 1024)));
        await node.CreateRoomAsync();
        for (var i = 1; i <= Messages; i++) await node.SayAsync(RoomStanzas.Owner, $"message {i}");

        await AwaitAssertAsync(() =>
        {
            var (database, writeAheadLog) = Journal.FileSizes();
            Assert.Equal(0, writeAheadLog);
            Assert.True(database > Messages * 600, $"the database file holds {database:N0} bytes");
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        // With the log truncated, what is read is the database file's alone.
        Assert.True(Journal.HighestSequenceNr(RoomActor.PersistenceIdFor(Jid.Parse(RoomStanzas.Room))) > Messages);
    }
}
