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

    [Fact]
    public async Task While_a_replica_hosts_server_is_behind_the_primary_refuses_its_own_hosts_join_and_takes_it_once_the_replica_says_it_caught_up()
    {
        var room = new ClusterRoom(_cluster, "behind@" + Service);
        await room.CreateAsync(Trillian);
        await room.EnterAsync(Wumpus);
        _cluster.Received(Killrc).Behind = true;
        // The replica looks at its server as it takes a batch.
        _cluster.SendFromUser(Say(Trillian, room.Jid, "anyone there?", id: "look"));
        await _cluster.WaitForAsync(Wumpus.Jid, Received.GroupchatBody("anyone there?"));

        // The replica told the room before it handed Wumpus the message; what Wumpus says next follows that word from the same actor.
        _cluster.SendFromUser(Say(Wumpus, room.Jid, "here", id: "here"));
        var refusal = await _cluster.WaitForAsync(Wumpus.Jid, stanza => stanza.Attribute("id")?.Value == "here");
        Assert.Equal("error", refusal.Attribute("type")?.Value);
        Assert.DoesNotContain(_cluster.ReceivedBy(Trillian.Jid), stanza => Received.GroupchatBody("here")(stanza));
        _cluster.SendFromUser(Enter(Cerebus, room.Jid));
        var answer = await _cluster.WaitForAsync(Cerebus.Jid, stanza => stanza.Name.LocalName == "presence");
        Assert.Equal("error", answer.Attribute("type")?.Value);
        Assert.NotNull(answer.Element(Ns.Client + "error")?.Element(Ns.Stanzas + "resource-constraint"));
        Assert.Equal(2, (await _cluster.InspectRoomAsync(room.Jid)).Occupants);

        _cluster.Received(Killrc).Behind = false;
        await Eventually.HoldsAsync(async () =>
        {
            _cluster.SendFromUser(Enter(Cerebus, room.Jid));
            await Task.Delay(200);
            return (await _cluster.InspectRoomAsync(room.Jid)).Occupants == 3;
        }, "the join taken once killrc's server caught up", TimeSpan.FromSeconds(10));
        await _cluster.WaitForAsync(Wumpus.Jid, Received.PresenceOf(room.Jid, Cerebus.Nick));
    }
}
