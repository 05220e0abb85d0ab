using Akka.Actor;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests.Rooms;

/// <summary>
/// What the room index keeps (pure), that a restarted node lists its persistent rooms before anyone enters them, and
/// that it loads only the rooms that had occupants when it stopped.
/// </summary>
public sealed class RoomIndexTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    private const string Romeo = "romeo@localhost/balcony";
    private static readonly Jid Verona = Jid.Parse($"verona@{Service}");

    [Fact]
    public void Only_persistent_rooms_that_exist_are_indexed_and_only_what_a_listing_shows_is_written()
    {
        var index = new RoomIndexState();
        Assert.Empty(index.Process(Listing(persistent: false) with { Occupants = 0 }));

        Apply(index, Listing());
        Assert.Equal([new IndexedRoom(Verona.ToString(), "Verona", IsPublic: true)], index.Rooms);
        Assert.Empty(index.Process(Listing() with { Occupants = 7 }));
        Assert.IsType<RoomIndexed>(Assert.Single(index.Process(Listing() with { Name = "Fair Verona" })));
        Assert.IsType<RoomUnindexed>(Assert.Single(index.Process(Listing(persistent: false))));
        Assert.Equal([new RoomUnindexed(Verona.ToString()), new RoomEmptied(Verona.ToString())], index.Process(Listing() with { Exists = false }));

        Assert.Equal(index.Rooms, RoomIndexState.FromSnapshot(index.ToSnapshot()).Rooms);
        Apply(index, Listing() with { Exists = false });
        Assert.Empty(index.Rooms);
    }

    [Fact]
    public void Only_a_room_becoming_occupied_or_empty_is_written_for_temporary_rooms_too()
    {
        var index = new RoomIndexState();
        Assert.Null(index.OccupiedRooms);
        Apply(index, index.StartTrackingOccupancy());
        Assert.Empty(index.StartTrackingOccupancy());

        var temporary = Listing(persistent: false);
        Assert.Equal([new RoomOccupied(Verona.ToString())], index.Process(temporary));
        Apply(index, temporary);
        Assert.Equal([Verona.ToString()], index.OccupiedRooms);
        Assert.Empty(index.Process(temporary with { Occupants = 12 }));
        Assert.Equal([new RoomEmptied(Verona.ToString())], index.Process(temporary with { Occupants = 0 }));
        Assert.Equal([new RoomEmptied(Verona.ToString())], index.Process(temporary with { Exists = false }));

        var restored = RoomIndexState.FromSnapshot(index.ToSnapshot());
        Assert.Equal(index.OccupiedRooms, restored.OccupiedRooms);
        Apply(restored, temporary with { Occupants = 0 });
        Assert.Empty(restored.OccupiedRooms!);
    }

    [Fact]
    public void An_index_from_before_occupancy_tracking_names_no_occupied_rooms_so_that_all_are_checked_once()
    {
        var older = RoomIndexState.FromSnapshot(new RoomIndexSnapshot([new IndexedRoom(Verona.ToString(), "Verona", true)]));
        Assert.Null(older.OccupiedRooms);
        Apply(older, Listing());
        Assert.Null(older.OccupiedRooms);
        Apply(older, older.StartTrackingOccupancy());
        Assert.Equal([Verona.ToString()], older.OccupiedRooms);
    }

    /// <summary>
    /// After a crash only the room that had occupants is loaded (and pings them); an idle persistent room and a room
    /// everyone left stay in the journal until someone needs them, though both are listed.
    /// </summary>
    [Fact]
    public async Task A_node_that_crashed_loads_at_start_only_the_rooms_that_had_occupants()
    {
        var node = StartNode();
        string[] rooms = [$"busy@{Service}", $"idle@{Service}", $"left@{Service}"];
        foreach (var room in rooms) await node.CreateRoomAsync(room, ("muc#roomconfig_publicroom", "1"));
        await node.JoinAsync(Romeo, "Romeo", rooms[2]);
        await LeaveAsync(node, Owner, OwnerNick, rooms[1]);
        await LeaveAsync(node, Owner, OwnerNick, rooms[2]);
        await LeaveAsync(node, Romeo, "Romeo", rooms[2]);
        // Three indexed, three occupied, two emptied, and the start's own mark that occupancy is tracked.
        await Eventually.HoldsAsync(() => Journal.HighestSequenceNr(RoomIndex.PersistenceIdFor(Jid.Parse(Service))) == 9,
            "the index to write every change", TimeSpan.FromSeconds(10));

        node = await RestartAsync(node);

        await node.Sink.WaitForAsync(Owner, stanza => stanza.Element(Ns.Ping + "ping") is not null
                                                      && stanza.Attribute("from")?.Value == rooms[0]);
        Assert.True(await IsLoadedAsync(node, rooms[0]));
        Assert.False(await IsLoadedAsync(node, rooms[1]));
        Assert.False(await IsLoadedAsync(node, rooms[2]));
        Assert.Equal(rooms, await DiscoItemsAsync(node));
    }

    /// <summary>A node shut down in order said goodbye to every occupant: its next start loads no room at all.</summary>
    [Fact]
    public async Task A_node_shut_down_in_order_loads_no_room_at_its_next_start()
    {
        var node = StartNode();
        await node.CreateRoomAsync(Room, ("muc#roomconfig_publicroom", "1"));
        await node.JoinAsync(Romeo, "Romeo");
        // A fresh journal's index tracks occupancy once the first start's scan of the journal is done: a node stopped before
        // that loads every room at its next start, to check them (slower, not wrong), which is not what this test is about.
        await Eventually.HoldsAsync(() => Journal.EventsAsJson(RoomIndex.PersistenceIdFor(Jid.Parse(Service))).Any(@event => @event.Contains("\"occupancy-tracked\"")),
            "the index to track occupancy", TimeSpan.FromSeconds(10));
        await node.Directory.Ask<RoomsShutDown>(ShutDownRooms.Instance, TimeSpan.FromSeconds(10));

        // Written before the shutdown answered: the room is empty.
        Assert.Contains(Journal.EventsAsJson(RoomIndex.PersistenceIdFor(Jid.Parse(Service))), @event => @event.Contains("\"room-emptied\""));
        node = await RestartAsync(node);

        Assert.Equal([Room], await DiscoItemsAsync(node));
        Assert.False(await IsLoadedAsync(node, Room));
        Assert.Empty(node.Sink.To(Owner));
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

        // Three rooms indexed and occupied, one occupied, one indexed, occupied, unindexed and emptied, and the start's
        // own mark that occupancy is tracked: what the index must have written before the node goes.
        await Eventually.HoldsAsync(() => Journal.HighestSequenceNr(RoomIndex.PersistenceIdFor(Jid.Parse(Service))) == 2 * persistent.Length + 6,
            "the index to write every change", TimeSpan.FromSeconds(10));
        node = await RestartAsync(node);

        Assert.Equal(persistent, await DiscoItemsAsync(node));
        // Nobody entered since the restart: the one occupant is the owner, who never left (occupants are durable).
        Assert.Equal(1, (await node.InspectAsync(persistent[0])).Occupants);
    }

    /// <summary>
    /// The index stops when it is stopped by its journal (a write timed out under a burst of creations): its supervisor
    /// starts it again and hands it what it missed, so that a room created and one destroyed meanwhile are listed right
    /// after the next restart.
    /// </summary>
    [Fact]
    public async Task A_stopped_room_index_is_started_again_and_learns_what_changed_while_it_was_down()
    {
        var node = StartNode();
        string[] rooms = [$"capulet@{Service}", $"montague@{Service}"];
        foreach (var room in rooms) await node.CreateRoomAsync(room, ("muc#roomconfig_publicroom", "1"));
        var indexId = RoomIndex.PersistenceIdFor(Jid.Parse(Service));
        // Two rooms indexed and occupied, and the start's own mark that occupancy is tracked.
        await Eventually.HoldsAsync(() => Journal.HighestSequenceNr(indexId) == 5, "the index to write both rooms", TimeSpan.FromSeconds(10));

        var index = await node.System.ActorSelection($"/user/{RoomDirectory.Name}/index/journal").ResolveOne(TimeSpan.FromSeconds(5));
        Watch(index);
        index.Tell(PoisonPill.Instance);
        ExpectTerminated(index);
        await node.CreateRoomAsync($"verona@{Service}", ("muc#roomconfig_publicroom", "1"));
        await node.SubmitAsync(Owner, Parse($"<iq from='{Owner}' to='{rooms[1]}' type='set' id='destroy'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>"));

        await Eventually.HoldsAsync(() => Journal.EventsAsJson(indexId).Any(@event => @event.Contains("verona@"))
                                          && Journal.EventsAsJson(indexId).Any(@event => @event.Contains("room-unindexed")),
            "the restarted index to write what it missed", TimeSpan.FromSeconds(15));
        node = await RestartAsync(node);

        Assert.Equal([rooms[0], $"verona@{Service}"], await DiscoItemsAsync(node));
    }

    /// <summary>
    /// A write of the index that the journal refuses (here a trigger on the table; in the 100,000-room run, a write that timed
    /// out) stops it with that change unwritten: started again, it is handed the change again and writes it once the journal
    /// takes writes.
    /// </summary>
    [Fact]
    public async Task A_change_whose_write_failed_is_written_once_the_journal_takes_writes_again()
    {
        var service = Jid.Parse("failing.localhost");
        var indexId = RoomIndex.PersistenceIdFor(service);
        var supervisor = Sys.ActorOf(RoomIndexSupervisor.Props(service), "failing-index");
        // Recovered: the journal's tables exist.
        await supervisor.Ask<RoomIndexRecovered>(ListIndexedRooms.Instance, TimeSpan.FromSeconds(10));
        var first = await IndexOf(supervisor);
        Journal.RefuseWritesOf(indexId);

        supervisor.Tell(new RoomListingChanged(Jid.Parse($"verona@{service}"), "Verona", Occupants: 0, IsPublic: true, Exists: true, IsPersistent: true));
        // Stopped, or already started again (and stopped again while the journal refuses).
        await Eventually.HoldsAsync(async () => !Equals(await IndexOf(supervisor), first), "the index to stop on the failed write", TimeSpan.FromSeconds(10));
        Assert.Equal(0, Journal.HighestSequenceNr(indexId));
        Journal.TakeWritesAgain();

        await Eventually.HoldsAsync(() => Journal.EventsAsJson(indexId).Any(@event => @event.Contains("verona@")),
            "the index to write the change once the journal takes it", TimeSpan.FromSeconds(20));
        var recovered = await supervisor.Ask<RoomIndexRecovered>(ListIndexedRooms.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal([new IndexedRoom($"verona@{service}", "Verona", IsPublic: true)], recovered.Rooms);
        Assert.Single(Journal.EventsAsJson(indexId), @event => @event.Contains("room-indexed"));
    }

    /// <summary>
    /// Changes that arrive while a write is in flight go to the journal together: one write a change (what the index did
    /// before) fell behind 100,000 room creations, and its mailbox grew with them.
    /// </summary>
    [Fact]
    public async Task Changes_that_arrive_during_a_write_are_written_together()
    {
        const int rooms = 300;
        var service = Jid.Parse("batched.localhost");
        var indexId = RoomIndex.PersistenceIdFor(service);
        var system = ActorSystem.Create("batched-index", WriteCountingJournal.Config.WithFallback(Journal.Config));
        try
        {
            var supervisor = system.ActorOf(RoomIndexSupervisor.Props(service), "index");
            await supervisor.Ask<RoomIndexRecovered>(ListIndexedRooms.Instance, TimeSpan.FromSeconds(10));
            for (var room = 0; room < rooms; room++)
                supervisor.Tell(new RoomListingChanged(Jid.Parse($"room{room:000}@{service}"), $"Room {room}", 0, IsPublic: true, Exists: true, IsPersistent: true));

            await Eventually.HoldsAsync(() => Journal.HighestSequenceNr(indexId) == rooms, "every change to be written", TimeSpan.FromSeconds(30));
            Assert.InRange(WriteCountingJournal.WritesOf(indexId), 1, rooms / 10);
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>The supervisor's index now: null while it is stopped.</summary>
    private async Task<IActorRef?> IndexOf(IActorRef supervisor) =>
        (await Sys.ActorSelection(supervisor.Path / "journal").Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(5))).Subject;

    /// <summary>The service's disco#items, once the index has recovered (the directory answers only then).</summary>
    private static async Task<List<string>> DiscoItemsAsync(RoomNode node)
    {
        List<string> listed = [];
        await Eventually.HoldsAsync(async () =>
        {
            node.Send(DiscoItems("romeo@localhost/balcony", Service));
            var items = await node.Sink.WaitForAsync("romeo@localhost/balcony", stanza => stanza.IsIqResult("items"));
            node.Sink.Clear();
            listed = items.Descendants(Ns.DiscoItems + "item").Select(item => item.Attribute("jid")!.Value).ToList();
            return listed.Count > 0;
        }, "the room index to be recovered", TimeSpan.FromSeconds(10));
        return listed;
    }

    private static async Task<bool> IsLoadedAsync(RoomNode node, string room)
    {
        var identity = await node.System.ActorSelection($"/user/{RoomDirectory.Name}/{Uri.EscapeDataString(room)}")
            .Ask<ActorIdentity>(new Identify(room), TimeSpan.FromSeconds(5));
        return identity.Subject is not null;
    }

    private static async Task LeaveAsync(RoomNode node, string fullJid, string nick, string room)
    {
        node.Send(Parse($"<presence from='{fullJid}' to='{room}/{nick}' type='unavailable'/>"));
        await node.Sink.WaitForAsync(fullJid, stanza => stanza.Attribute("type")?.Value == "unavailable" && stanza.HasStatus(110)
                                                        && stanza.Attribute("from")?.Value == $"{room}/{nick}");
    }

    private static RoomListingChanged Listing(bool persistent = true) =>
        new(Verona, "Verona", Occupants: 1, IsPublic: true, Exists: true, IsPersistent: persistent);

    private static void Apply(RoomIndexState index, RoomListingChanged listing) => Apply(index, index.Process(listing));

    private static void Apply(RoomIndexState index, IReadOnlyList<RoomIndexEvent> events)
    {
        foreach (var @event in events) index.Apply(@event);
    }
}
