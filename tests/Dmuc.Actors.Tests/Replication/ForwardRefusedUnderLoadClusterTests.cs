using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Replication;

/// <summary>
/// A primary whose own server is behind on its output refuses a join forwarded by a replica as it would its own user's
/// (docs/operations.md "Overload"): the entrant hears wait/resource-constraint through its replica, the replica's forward is
/// acknowledged, and once the server keeps up again the same user gets in.
/// </summary>
public sealed class ForwardRefusedUnderLoadClusterTests : IAsyncLifetime
{
    private DmucTestCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await DmucTestCluster.StartAsync(new DmucNodeSpec(Avalon, IsPrimary: true), new DmucNodeSpec(Killrc));

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_forwarded_join_is_refused_through_the_replica_while_the_primarys_server_is_behind_and_the_forward_is_acknowledged()
    {
        var room = new ClusterRoom(_cluster, "overload@" + Service);
        await room.CreateAsync(Trillian);
        _cluster.Primary.Sink.Behind = true;

        _cluster.SendFromUser(Enter(Wumpus, room.Jid));

        var error = await _cluster.WaitForAsync(Wumpus.Jid, stanza => stanza.Name.LocalName == "presence" && stanza.Attribute("type")?.Value == "error");
        Assert.Equal(room.OccupantJid(Wumpus.Nick), error.Attribute("from")?.Value);
        Assert.Equal("wait", error.Element(Ns.Client + "error")?.Attribute("type")?.Value);
        Assert.NotNull(error.Element(Ns.Client + "error")?.Element(Ns.Stanzas + "resource-constraint"));
        await Eventually.HoldsAsync(async () => (await _cluster.InspectReplicaAsync(room.Jid, Killrc)).UnacknowledgedForwards == 0,
            "the replica's forward acknowledged", TimeSpan.FromSeconds(10));
        Assert.Empty((await _cluster.InspectReplicaAsync(room.Jid, Killrc)).LocalOccupants);
        Assert.DoesNotContain(_cluster.Primary.Sink.All, delivery => delivery.Stanza.Attribute("from")?.Value == room.OccupantJid(Wumpus.Nick));
        Assert.Equal(1, (await _cluster.InspectRoomAsync(room.Jid)).Occupants);

        _cluster.Primary.Sink.Behind = false;
        await room.EnterAsync(Wumpus);
        Assert.Contains(_cluster.Received(Avalon).To(Trillian.Jid), stanza => Received.PresenceOf(room.Jid, Wumpus.Nick)(stanza));
    }
}
