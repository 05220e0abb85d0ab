using Dmuc.Actors.Tests.Infrastructure;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests;

/// <summary>The room directory keeps each user's room count, here one room each, as rooms are created and destroyed.</summary>
public sealed class RoomCreationQuotaDirectoryTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    private const string Second = "second@conference.localhost";

    [Fact]
    public async Task A_user_at_the_room_count_is_refused_a_new_room_until_their_room_is_destroyed()
    {
        var node = StartNode(options: RoomNode.ServiceOptions with { RoomsPerCreator = 1 });
        await node.CreateRoomAsync();

        node.Send(Join(Owner, OwnerNick, Second));
        await node.Sink.WaitForAsync(Owner, stanza => stanza.IsError("policy-violation"));
        Assert.False((await node.InspectAsync(Second)).Exists);

        await node.SubmitAsync(Owner, Parse($"<iq from='{Owner}' to='{Room}' type='set' id='destroy'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>"));
        await node.JoinAsync(Owner, OwnerNick, Second);
    }

    [Fact]
    public async Task Entering_an_existing_room_the_directory_has_not_seen_since_a_restart_costs_no_room()
    {
        var node = StartNode(options: RoomNode.ServiceOptions with { RoomsPerCreator = 1 });
        await node.CreateRoomAsync();
        node = await RestartAsync(node);

        await node.JoinAsync(Owner, OwnerNick);

        await node.JoinAsync(Owner, OwnerNick, Second);
    }
}
