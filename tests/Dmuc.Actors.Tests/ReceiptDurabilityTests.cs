using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests;

/// <summary>
/// A replica host's receipts reach the room's journal coalesced, and a room restarted on its journal has the newest
/// (docs/protocol/netjoin.md §5): what a replica node that crashed meanwhile is resumed from.
/// </summary>
public sealed class ReceiptDurabilityTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    private const string Killrc = "killrc.oulubox.irc";
    private const string Wumpus = "argl@killrc.oulubox.irc/laptop";
    private static readonly string RoomPersistenceId = RoomActor.PersistenceIdFor(Jid.Parse(Room));

    [Fact]
    public async Task A_burst_of_receipts_costs_two_journal_writes_and_the_restarted_room_has_the_newest()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        await node.JoinAsync(Wumpus, "Wumpus");
        for (var i = 1; i <= 10; i++) await node.SayAsync(Owner, $"message {i}");
        var stanzaIds = (await node.InspectAsync()).History.Select(entry => entry.StanzaId).ToList();
        var journaledBefore = Journal.HighestSequenceNr(RoomPersistenceId);

        var room = node.System.ActorSelection($"/user/{RoomDirectory.Name}/{Uri.EscapeDataString(Room)}");
        foreach (var stanzaId in stanzaIds)
            room.Tell(new DeliveryReceipt(Jid.Parse(Room), Killrc, stanzaId, [Jid.Parse(Wumpus)]));

        // The first at once, the newest once the interval (1 s) is over: not one write each.
        await AwaitAssertAsync(() => Assert.Equal(journaledBefore + 2, Journal.HighestSequenceNr(RoomPersistenceId)), TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(journaledBefore + 2, Journal.HighestSequenceNr(RoomPersistenceId));

        node = await RestartAsync(node);
        var receipt = Assert.Single((await node.InspectAsync()).Receipts ?? []);
        Assert.Equal((Killrc, stanzaIds[^1]), (receipt.ReplicaHost, receipt.LastStanzaId));
        Assert.Equal([Jid.Parse(Wumpus)], receipt.Sessions);
    }
}
