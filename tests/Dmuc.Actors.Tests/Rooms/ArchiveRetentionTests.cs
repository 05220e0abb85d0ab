using System.Xml.Linq;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Rooms;
using Dmuc.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Rooms;

/// <summary>Retention on a real journal: what expired leaves the archive, the history and the journal's storage, for good.</summary>
public sealed class ArchiveRetentionTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    private static readonly XNamespace Mam = "urn:xmpp:mam:2";
    private static readonly string RoomPersistenceId = RoomActor.PersistenceIdFor(Jid.Parse(Room));
    private static readonly MucServiceOptions KeepFive = RoomNode.ServiceOptions with { ArchiveRetention = new ArchiveRetention(null, MaxMessages: 5) };
    private static readonly RoomActorSettings CheckOften = QuietSettings with { ArchiveExpiryCheckInterval = TimeSpan.FromMilliseconds(200) };

    [Fact]
    public async Task Expired_messages_leave_the_archive_the_history_and_the_journal_and_a_restarted_room_stays_without_them()
    {
        var node = StartNode(CheckOften, KeepFive);
        await node.CreateRoomAsync(Room, ("muc#roomconfig_historylength", "20"));
        var firstMessageAt = Journal.HighestSequenceNr(RoomPersistenceId) + 1;
        for (var i = 1; i <= 12; i++) await node.SayAsync(Owner, $"line {i}");
        var kept = Enumerable.Range(8, 5).Select(i => $"line {i}").ToList();

        // The room records the expiry, snapshots, and the journal lets go of every event up to line 7.
        await AwaitAssertAsync(() => Assert.True(Journal.LowestSequenceNr(RoomPersistenceId) > firstMessageAt + 6),
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100));
        Assert.Equal(kept, await ArchiveAsync(node, "romeo@localhost/a"));
        Assert.Equal(kept, await HistoryAsync(node, "juliet@localhost/a"));

        node = await RestartAsync(node, CheckOften);
        Assert.Equal(kept, await ArchiveAsync(node, "romeo@localhost/b"));
        Assert.Equal(kept, await HistoryAsync(node, "nurse@localhost/b"));
        await node.SayAsync(Owner, "line 13");
        Assert.Equal([.. kept[1..], "line 13"], await ArchiveAsync(node, "romeo@localhost/c"));
    }

    /// <summary>The bodies a user's archive query returns, oldest first.</summary>
    private static async Task<List<string>> ArchiveAsync(RoomNode node, string user)
    {
        node.Send(Parse($"<iq from='{user}' to='{Room}' type='set' id='mam'><query xmlns='urn:xmpp:mam:2' queryid='all'/></iq>"));
        await node.Sink.WaitForAsync(user, stanza => stanza.IsIqResult("mam"));
        return [.. node.Sink.To(user).Select(stanza => stanza.Element(Mam + "result")?.Descendants(Ns.Client + "body").Single().Value).OfType<string>()];
    }

    /// <summary>The bodies of the history a newcomer gets.</summary>
    private static async Task<List<string>> HistoryAsync(RoomNode node, string newcomer)
    {
        await node.JoinAsync(newcomer, newcomer.Split('@')[0]);
        return [.. node.Sink.To(newcomer).Select(stanza => stanza.Body()).OfType<string>()];
    }
}
