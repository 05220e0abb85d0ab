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

    [Fact]
    public async Task A_resync_larger_than_the_remoting_frame_arrives_in_parts_and_the_netjoin_completes()
    {
        var room = new ClusterRoom(Cluster, $"large-resync@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync([Wumpus]);
        await room.SettleAsync([Trillian, Wumpus]);
        await Netsplit.Links.CutAsync(Avalon, Killrc);
        await Netsplit.WaitForLinkStateAsync(room.Jid, Killrc, LinkState.Split);

        // Each message fits a frame on its own; together they are about three.
        var bodies = Enumerable.Range(0, 16).Select(i => $"{i}:" + new string((char)('a' + i), 12_000)).ToList();
        for (var i = 0; i < bodies.Count; i++) Cluster.SendFromUser(Say(Trillian, room.Jid, bodies[i], id: $"large-{i}"));
        await Eventually.HoldsAsync(async () => (await Cluster.InspectRoomAsync(room.Jid)).History.Count == bodies.Count,
            "the room to keep every message of the split", TimeSpan.FromSeconds(20));
        Assert.True(bodies.Sum(body => body.Length) > 2 * FrameBytes);

        await Netsplit.Links.HealAsync(Avalon, Killrc);
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, TimeSpan.FromSeconds(30));

        // Every message once, in the room's order.
        var received = Cluster.ReceivedBy(Wumpus.Jid).Select(stanza => stanza.Body()).OfType<string>().ToList();
        Assert.Equal(bodies, received.Where(bodies.Contains));
    }

    [Fact]
    public async Task A_report_larger_than_the_remoting_frame_arrives_in_parts_and_the_netjoin_completes()
    {
        var room = new ClusterRoom(Cluster, $"large-report@{Service}");
        await room.CreateAsync(Trillian);
        await room.EnterAllAsync([Wumpus]);
        await room.SettleAsync([Trillian, Wumpus]);
        await Netsplit.Links.CutAsync(Avalon, Killrc);
        await Netsplit.WaitForReplicaStateAsync(room.Jid, Killrc, LinkState.Split);

        // Said on killrc during the split: served there at once and held for the netjoin's report.
        var bodies = Enumerable.Range(0, 16).Select(i => $"{i}:" + new string((char)('a' + i), 12_000)).ToList();
        for (var i = 0; i < bodies.Count; i++)
        {
            Cluster.SendFromUser(Say(Wumpus, room.Jid, bodies[i], id: $"held-{i}"));
            await Cluster.WaitForAsync(Wumpus.Jid, Received.GroupchatBody(bodies[i]));
        }
        Assert.True(bodies.Sum(body => body.Length) > 2 * FrameBytes);

        await Netsplit.Links.HealAsync(Avalon, Killrc);
        await Netsplit.WaitUntilInStepAsync(room.Jid, Killrc, TimeSpan.FromSeconds(30));

        await Cluster.WaitForAsync(Trillian.Jid, Received.GroupchatBody(bodies[^1]));
        var received = Cluster.ReceivedBy(Trillian.Jid).Select(stanza => stanza.Body()).OfType<string>().ToList();
        Assert.Equal(bodies, received.Where(bodies.Contains));
        Assert.Equal(0, (await Cluster.InspectReplicaAsync(room.Jid, Killrc)).HeldStanzas);
    }
}
