using Akka.Configuration;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// A netjoin whose resync, or whose report, is larger than one remoting frame (docs/protocol/netjoin.md §3): the frame is
/// lowered to 64 KiB here, as 16 MiB is in production, and a split brings about three frames' worth of messages.
/// </summary>
[Collection("netsplit")]
public sealed class LargeResyncTests() : AvalonKillrcClusterTests(ConfigurationFactory.ParseString(
    "akka.remote.dot-netty.tcp.maximum-frame-size = 64KiB"))
{
    private const int FrameBytes = 64 * 1024;

    /// <summary>Each fits a frame on its own; together they are about three.</summary>
    private static readonly IReadOnlyList<string> Bodies = Enumerable.Range(0, 16).Select(i => $"{i}:" + new string((char)('a' + i), 12_000)).ToList();

    [Fact]
    public async Task A_resync_larger_than_the_remoting_frame_arrives_in_parts_and_the_netjoin_completes()
    {
        var room = await RoomSplitFromKillrcAsync("large-resync");

        for (var i = 0; i < Bodies.Count; i++) Cluster.SendFromUser(Say(Trillian, room.Jid, Bodies[i], id: $"large-{i}"));
        await Eventually.HoldsAsync(async () => (await Cluster.InspectRoomAsync(room.Jid)).History.Count == Bodies.Count,
            "the room to keep every message of the split", TimeSpan.FromSeconds(20));
        await HealAsync(room);

        AssertReceivedEachOnceInOrder(Wumpus);
    }

    [Fact]
    public async Task A_report_larger_than_the_remoting_frame_arrives_in_parts_and_the_netjoin_completes()
    {
        var room = await RoomSplitFromKillrcAsync("large-report");

        // Said on killrc during the split: served there at once and held for the netjoin's report.
        for (var i = 0; i < Bodies.Count; i++)
        {
            Cluster.SendFromUser(Say(Wumpus, room.Jid, Bodies[i], id: $"held-{i}"));
            await Cluster.WaitForAsync(Wumpus.Jid, Received.GroupchatBody(Bodies[i]));
        }
        await HealAsync(room);

        await Cluster.WaitForAsync(Trillian.Jid, Received.GroupchatBody(Bodies[^1]));
        AssertReceivedEachOnceInOrder(Trillian);
        Assert.Equal(0, (await Cluster.InspectReplicaAsync(room.Jid, Killrc)).HeldStanzas);
    }

    /// <summary>A room with Trillian (avalon, owner) and Wumpus (killrc), whose killrc replica knows it is split.</summary>
    private async Task<ClusterRoom> RoomSplitFromKillrcAsync(string name)
    {
        Assert.True(Bodies.Sum(body => body.Length) > 2 * FrameBytes);
        var room = new ClusterRoom(Cluster, $"{name}@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync([Wumpus]);
        await room.SettleAsync([Trillian, Wumpus]);
        await Netsplit.Links.CutAsync(Avalon, Killrc);
        await Netsplit.WaitForLinkStateAsync(room.Jid, Killrc, LinkState.Split);
        return room;
    }

    private async Task HealAsync(ClusterRoom room)
    {
        await Netsplit.Links.HealAsync(Avalon, Killrc);
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, TimeSpan.FromSeconds(30));
    }

    /// <summary>Every message once, in the room's order.</summary>
    private void AssertReceivedEachOnceInOrder(ChatUser user) =>
        Assert.Equal(Bodies, Cluster.ReceivedBy(user.Jid).Select(stanza => stanza.Body()).OfType<string>().Where(Bodies.Contains));
}
