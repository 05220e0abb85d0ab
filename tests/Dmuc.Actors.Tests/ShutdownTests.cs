using Akka.Actor;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests;

public sealed class ShutdownTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    private const string OtherRoom = "other@conference.localhost";

    [Fact]
    public async Task Shutting_down_sends_every_occupant_of_every_room_unavailable_presence_with_status_332()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        await node.JoinAsync("romeo@localhost/balcony", "Romeo");
        await node.CreateRoomAsync(OtherRoom);
        await node.JoinAsync("juliet@localhost/garden", "Juliet", OtherRoom);
        node.Sink.Clear();

        var done = await node.Directory.Ask<RoomsShutDown>(ShutDownRooms.Instance, TimeSpan.FromSeconds(10));

        Assert.Equal(2, done.Rooms);
        (string To, string Room, string Nick)[] expected =
        [
            (Owner, Room, OwnerNick), ("romeo@localhost/balcony", Room, "Romeo"),
            (Owner, OtherRoom, OwnerNick), ("juliet@localhost/garden", OtherRoom, "Juliet"),
        ];
        foreach (var (to, room, nick) in expected)
        {
            Assert.Contains(node.Sink.To(to), stanza =>
                stanza.Name == Ns.Client + "presence" && stanza.Attribute("type")?.Value == "unavailable" &&
                stanza.Attribute("from")?.Value == $"{room}/{nick}" && stanza.HasStatus(332));
        }
    }

    [Fact]
    public async Task Shutting_down_a_node_without_rooms_answers_at_once()
    {
        var node = StartNode();

        var done = await node.Directory.Ask<RoomsShutDown>(ShutDownRooms.Instance, TimeSpan.FromSeconds(5));

        Assert.Equal(0, done.Rooms);
    }
}
