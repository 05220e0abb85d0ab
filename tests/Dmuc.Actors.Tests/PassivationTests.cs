using Akka.Actor;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests;

public sealed class PassivationTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    private const string Romeo = "romeo@localhost/balcony";
    private static readonly RoomActorSettings PassivateQuickly = QuietSettings with { IdleTimeout = TimeSpan.FromMilliseconds(200) };

    [Fact]
    public async Task An_empty_persistent_room_is_stopped_and_comes_back_from_its_journal_on_the_next_stanza()
    {
        var node = StartNode(PassivateQuickly);
        await node.CreateRoomAsync(Room, ("muc#roomconfig_roomname", "Sleepy"));
        var room = await RoomActorAsync();
        Watch(room);

        node.Send(Parse($"<presence from='{Owner}' to='{Room}/{OwnerNick}' type='unavailable'/>"));

        await ExpectTerminatedAsync(room, TimeSpan.FromSeconds(5));
        node.Send(DiscoInfo(Romeo, Room));
        var info = await node.Sink.WaitForAsync(Romeo, stanza => stanza.IsIqResult("disco"));
        Assert.Equal("Sleepy", info.Descendants(Ns.DiscoInfo + "identity").Single().Attribute("name")?.Value);
    }

    [Fact]
    public async Task Stanzas_that_arrive_while_a_room_stops_are_handled_by_its_next_incarnation_in_order()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        node.Send(Parse($"<presence from='{Owner}' to='{Room}/{OwnerNick}' type='unavailable'/>"));
        var room = await RoomActorAsync();
        Watch(room);

        // What the room sends when its idle timer fires; the directory cannot tell it from the real thing.
        node.Directory.Tell(new RoomIdle(Jid.Parse(Room)), room);
        const int queries = 20;
        for (var i = 1; i <= queries; i++)
            node.Send(DiscoInfo(Romeo, Room, id: $"q{i}"));

        await ExpectTerminatedAsync(room, TimeSpan.FromSeconds(5));
        await node.Sink.WaitForAsync(Romeo, stanza => stanza.IsIqResult($"q{queries}"));
        var answered = node.Sink.To(Romeo).Select(stanza => stanza.Attribute("id")?.Value);
        Assert.Equal(Enumerable.Range(1, queries).Select(i => $"q{i}"), answered);
    }

    [Fact]
    public async Task A_room_that_went_idle_keeps_the_occupant_whose_join_was_already_on_its_way()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        node.Send(Parse($"<presence from='{Owner}' to='{Room}/{OwnerNick}' type='unavailable'/>"));
        var room = await RoomActorAsync();

        // The room's idle timer fires just as the directory forwards a join: the directory learns of the
        // idleness only after it has passed the join on.
        node.Send(Join(Romeo, "Romeo"));
        node.Directory.Tell(new RoomIdle(Jid.Parse(Room)), room);
        node.Send(Say(Romeo, "still here?"));

        await node.Sink.WaitForAsync(Romeo, stanza => stanza.IsGroupchatWithBody("still here?"));
        Assert.Equal(1, (await node.InspectAsync()).Occupants);
    }

    [Fact]
    public async Task A_room_that_went_idle_while_its_archive_was_being_read_answers_the_query_before_it_stops()
    {
        var node = StartNode(QuietSettings with { IdleTimeout = TimeSpan.FromSeconds(3) });
        await node.CreateRoomAsync();
        for (var i = 1; i <= 5; i++) await node.SayAsync(Owner, $"line {i}");
        node.Send(Parse($"<presence from='{Owner}' to='{Room}/{OwnerNick}' type='unavailable'/>"));
        var room = await RoomActorAsync();
        Watch(room);

        // Romeo, not in the room, asks for its archive just as the room's idle timer fires.
        node.Send(Parse($"<iq from='{Romeo}' to='{Room}' type='set' id='mam'><query xmlns='urn:xmpp:mam:2'/></iq>"));
        node.Directory.Tell(new RoomIdle(Jid.Parse(Room)), room);

        var fin = await node.Sink.WaitForAsync(Romeo, stanza => stanza.IsIqResult("mam"));
        Assert.Equal("true", fin.Elements().Single().Attribute("complete")?.Value);
        Assert.Equal(5, node.Sink.To(Romeo).Count(stanza => stanza.Name.LocalName == "message"));
        await ExpectTerminatedAsync(room, TimeSpan.FromSeconds(60));
    }

    private Task<IActorRef> RoomActorAsync() =>
        Sys.ActorSelection($"/user/rooms/{Uri.EscapeDataString(Room)}").ResolveOne(TimeSpan.FromSeconds(3));
}
