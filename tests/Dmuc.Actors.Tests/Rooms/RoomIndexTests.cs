using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Rooms;

/// <summary>What the room index keeps (pure), and that a restarted node lists its persistent rooms before anyone enters them.</summary>
public sealed class RoomIndexTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    private static readonly Jid Verona = Jid.Parse($"verona@{Service}");

    [Fact]
    public void Only_persistent_rooms_that_exist_are_indexed_and_only_what_a_listing_shows_is_written()
    {
        var index = new RoomIndexState();
        Assert.Empty(index.Process(Listing(persistent: false)));

        Apply(index, Listing());
        Assert.Equal([new IndexedRoom(Verona.ToString(), "Verona", IsPublic: true)], index.Rooms);
        Assert.Empty(index.Process(Listing() with { Occupants = 7 }));
        Assert.IsType<RoomIndexed>(Assert.Single(index.Process(Listing() with { Name = "Fair Verona" })));
        Assert.IsType<RoomUnindexed>(Assert.Single(index.Process(Listing(persistent: false))));
        Assert.IsType<RoomUnindexed>(Assert.Single(index.Process(Listing() with { Exists = false })));

        Assert.Equal(index.Rooms, RoomIndexState.FromSnapshot(index.ToSnapshot()).Rooms);
        Apply(index, Listing() with { Exists = false });
        Assert.Empty(index.Rooms);
    }

    [Fact]
    public async Task A_restarted_node_lists_its_public_persistent_rooms_before_anyone_enters_them()
    {
        var node = StartNode();
        string[] persistent = [$"capulet@{Service}", $"montague@{Service}", $"verona@{Service}"];
        foreach (var room in persistent) await node.CreateRoomAsync(room, ("muc#roomconfig_publicroom", "1"));
        await node.CreateRoomAsync($"friar@{Service}", ("muc#roomconfig_persistentroom", "0"), ("muc#roomconfig_publicroom", "1"));
        await node.CreateRoomAsync($"gone@{Service}", ("muc#roomconfig_publicroom", "1"));
        await node.SubmitAsync(Owner, Parse($"<iq from='{Owner}' to='gone@{Service}' type='set' id='destroy'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>"));

        // Three rooms indexed, one indexed and unindexed: what the index must have written before the node goes.
        await Eventually.HoldsAsync(() => Journal.HighestSequenceNr(RoomIndex.PersistenceIdFor(Jid.Parse(Service))) == persistent.Length + 2,
            "the index to write every change", TimeSpan.FromSeconds(10));
        node = await RestartAsync(node);
        List<string> listed = [];
        // The index recovers beside the directory: ask until it has, then compare what is listed.
        await Eventually.HoldsAsync(async () =>
        {
            node.Send(DiscoItems("romeo@localhost/balcony", Service));
            var items = await node.Sink.WaitForAsync("romeo@localhost/balcony", stanza => stanza.IsIqResult("items"));
            node.Sink.Clear();
            listed = items.Descendants(Ns.DiscoItems + "item").Select(item => item.Attribute("jid")!.Value).ToList();
            return listed.Count > 0;
        }, "the room index to be recovered", TimeSpan.FromSeconds(10));

        Assert.Equal(persistent, listed);
        // Nobody entered since the restart: the one occupant is the owner, who never left (occupants are durable).
        Assert.Equal(1, (await node.InspectAsync(persistent[0])).Occupants);
    }

    private static RoomListingChanged Listing(bool persistent = true) =>
        new(Verona, "Verona", Occupants: 1, IsPublic: true, Exists: true, IsPersistent: persistent);

    private static void Apply(RoomIndexState index, RoomListingChanged listing)
    {
        foreach (var @event in index.Process(listing)) index.Apply(@event);
    }
}
