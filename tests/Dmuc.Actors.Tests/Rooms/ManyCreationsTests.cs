using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Rooms;

/// <summary>A burst of room creations larger than the node lets be under way at once (<see cref="RoomCreationBurst{T}"/>).</summary>
public sealed class ManyCreationsTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    /// <summary>
    /// 250 rooms created and configured at once, 32 of them under way at most: the rest wait with the configuration that
    /// follows their creation, and every room ends created, persistent and indexed, with each stanza answered once.
    /// </summary>
    [Fact]
    public async Task Creations_beyond_those_under_way_wait_their_turn_and_all_rooms_are_created_and_configured()
    {
        const int rooms = 250;
        var node = StartNode(options: RoomNode.ServiceOptions with { RoomsPerCreator = null, RoomCreationRate = null });
        var names = Enumerable.Range(0, rooms).Select(room => $"burst{room:000}@{Service}").ToList();
        foreach (var room in names)
        {
            node.Send(Join(Owner, OwnerNick, room));
            node.Send(Configure(Owner, room, ("muc#roomconfig_persistentroom", "1"), ("muc#roomconfig_publicroom", "1")));
        }

        await Eventually.HoldsAsync(() => node.Sink.To(Owner).Count(stanza => stanza.IsIqResult("config")) == rooms,
            "every room's configuration to be accepted", TimeSpan.FromSeconds(60));
        var toOwner = node.Sink.To(Owner);
        Assert.Equal(rooms, toOwner.Count(stanza => stanza.Name.LocalName == "presence" && stanza.HasStatus(201)));
        Assert.DoesNotContain(toOwner, stanza => stanza.Attribute("type")?.Value == "error");
        var indexId = RoomIndex.PersistenceIdFor(Jid.Parse(Service));
        // Each room indexed and occupied, and the start's mark that occupancy is tracked.
        await Eventually.HoldsAsync(() => Journal.HighestSequenceNr(indexId) == 2 * rooms + 1, "the index to write every room", TimeSpan.FromSeconds(30));
    }
}
