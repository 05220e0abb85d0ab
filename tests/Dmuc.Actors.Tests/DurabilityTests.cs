using Akka.Actor;
using System.Collections.Concurrent;
using System.Xml.Linq;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Rooms;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Xmpp;
using Xunit.Abstractions;
using static Dmuc.Actors.Tests.Infrastructure.RoomStanzas;

namespace Dmuc.Actors.Tests;

/// <summary>A room's durable state is on disk before anyone is told about it, and comes back after a restart.</summary>
public sealed class DurabilityTests(ITestOutputHelper output) : RoomActorTestKit(output)
{
    private const string Romeo = "romeo@localhost/balcony";
    private const string Juliet = "juliet@localhost/garden";
    private const string Killrc = "killrc.oulubox.irc";
    private const string Wumpus = "argl@killrc.oulubox.irc/laptop";
    private static readonly string RoomPersistenceId = RoomActor.PersistenceIdFor(Jid.Parse(Room));

    /// <summary>
    /// A replica host's receipts reach the journal coalesced (docs/protocol/netjoin.md §5), and the room restarted on its
    /// journal has the newest: what a replica node that crashed meanwhile is resumed from.
    /// </summary>
    [Fact]
    public async Task A_burst_of_receipts_costs_two_journal_writes_and_the_restarted_room_has_the_newest()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        await node.JoinAsync(Wumpus, "Wumpus");
        for (var i = 1; i <= 10; i++) await node.SayAsync(Owner, $"message {i}");
        var stanzaIds = (await node.InspectAsync()).History.Select(entry => entry.StanzaId).ToList();
        var journaledBefore = Journal.HighestSequenceNr(RoomPersistenceId);

        var room = node.System.ActorSelection($"/user/{RoomDirectory.Name}/{Uri.EscapeDataString(Room)}");
        foreach (var stanzaId in stanzaIds)
            room.Tell(new DeliveryReceipt(Jid.Parse(Room), Killrc, stanzaId, [Jid.Parse(Wumpus)]));

        // The first at once, the newest once the interval (1 s) is over: not one write each.
        await AwaitAssertAsync(() => Assert.Equal(journaledBefore + 2, Journal.HighestSequenceNr(RoomPersistenceId)), TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(journaledBefore + 2, Journal.HighestSequenceNr(RoomPersistenceId));

        node = await RestartAsync(node);
        var receipt = Assert.Single((await node.InspectAsync()).Receipts ?? []);
        Assert.Equal((Killrc, stanzaIds[^1]), (receipt.ReplicaHost, receipt.LastStanzaId));
        Assert.Equal([Jid.Parse(Wumpus)], receipt.Sessions);
    }

    [Fact]
    public async Task Every_groupchat_echo_is_sent_only_once_its_message_is_in_the_journal()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        var journaledBefore = Journal.HighestSequenceNr(RoomPersistenceId);
        var journaledAtEcho = new ConcurrentDictionary<string, long>();
        // The sink runs on the room's thread at the moment of sending: read what the journal holds right then.
        node.Sink.OnSend = deliveries =>
        {
            foreach (var echo in deliveries.Where(d => d.To == Jid.Parse(Owner) && d.Stanza.Body() is not null))
                journaledAtEcho[echo.Stanza.Body()!] = Journal.HighestSequenceNr(RoomPersistenceId);
        };

        const int messages = 30;
        for (var i = 1; i <= messages; i++)
            node.Send(Say(Owner, $"message {i}", id: $"m{i}"));
        await node.Sink.WaitForAsync(Owner, stanza => stanza.IsGroupchatWithBody($"message {messages}"));

        // Each message is one journal event, so the i-th echo needs at least i more events on disk.
        for (var i = 1; i <= messages; i++)
            Assert.True(journaledAtEcho[$"message {i}"] >= journaledBefore + i,
                $"message {i} was echoed with only {journaledAtEcho[$"message {i}"] - journaledBefore} new events in the journal");
    }

    /// <summary>
    /// A stanza the server numbered (docs/protocol/stream-ack.md) is settled once its outcome is sent, which for a message
    /// is after its journal write; the server's resend of it to the restarted node is settled and not echoed again, and a
    /// resend the room never had is processed.
    /// </summary>
    [Fact]
    public async Task A_numbered_message_is_settled_after_its_echo_and_its_resend_after_a_restart_is_dropped()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        var stream = CreateTestProbe(node.System);
        node.Directory.Tell(new RouteStanza(Say(Owner, "once", id: "once-1"), Receipt: new StreamReceipt(stream.Ref, 1, 1, Resent: false)));
        Assert.Equal(new ComponentConnectionActor.StanzaSettled(1, 1), stream.ExpectMsg<ComponentConnectionActor.StanzaSettled>());
        Assert.Single(node.Sink.To(Owner), stanza => stanza.IsGroupchatWithBody("once"));

        node = await RestartAsync(node);
        stream = CreateTestProbe(node.System);
        node.Directory.Tell(new RouteStanza(Say(Owner, "once", id: "once-1"), Receipt: new StreamReceipt(stream.Ref, 2, 1, Resent: true)));
        node.Directory.Tell(new RouteStanza(Say(Owner, "lost", id: "once-2"), Receipt: new StreamReceipt(stream.Ref, 2, 2, Resent: true)));

        Assert.Equal(new ComponentConnectionActor.StanzaSettled(2, 1), stream.ExpectMsg<ComponentConnectionActor.StanzaSettled>());
        Assert.Equal(new ComponentConnectionActor.StanzaSettled(2, 2), stream.ExpectMsg<ComponentConnectionActor.StanzaSettled>());
        Assert.Single(node.Sink.To(Owner), stanza => stanza.IsGroupchatWithBody("lost"));
        Assert.DoesNotContain(node.Sink.To(Owner), stanza => stanza.IsGroupchatWithBody("once"));
        Assert.Collection((await node.InspectAsync()).History,
            first => Assert.Contains("<body>once</body>", first.Stanza),
            second => Assert.Contains("<body>lost</body>", second.Stanza));
    }

    [Fact]
    public async Task History_subject_affiliations_configuration_and_registered_nick_survive_a_restart()
    {
        var node = StartNode();
        await node.CreateRoomAsync(Room, ("muc#roomconfig_roomname", "Verona"));
        await node.SubmitAsync(Owner, SetAffiliation(Owner, "juliet@localhost", "member", nick: "Juliet"));
        node.Send(SetSubject(Owner, "Star-crossed"));
        await node.Sink.WaitForAsync(Owner, stanza => stanza.Element(Ns.Client + "subject")?.Value == "Star-crossed");
        string[] bodies = ["one", "two", "three"];
        foreach (var body in bodies)
            await node.SayAsync(Owner, body);

        node = await RestartAsync(node);
        await node.JoinAsync(Romeo, "Romeo");

        var toRomeo = node.Sink.To(Romeo);
        var history = toRomeo.Where(stanza => stanza.Body() is not null).ToList();
        Assert.Equal(bodies, history.Select(stanza => stanza.Body()));
        Assert.All(history, stanza => Assert.NotNull(stanza.Element(Ns.Delay + "delay")));
        var subject = Assert.Single(toRomeo, stanza => stanza.Element(Ns.Client + "subject") is not null);
        Assert.Equal("Star-crossed", subject.Element(Ns.Client + "subject")!.Value);
        Assert.True(toRomeo.IndexOf(subject) > toRomeo.IndexOf(history[^1]), "the subject comes after the history");

        node.Send(DiscoInfo(Romeo, Room));
        var info = await node.Sink.WaitForAsync(Romeo, stanza => stanza.IsIqResult("disco"));
        var features = info.Descendants(Ns.DiscoInfo + "feature").Select(f => f.Attribute("var")?.Value).ToList();
        Assert.Contains("muc_persistent", features);
        Assert.Equal("Verona", info.Descendants(Ns.DiscoInfo + "identity").Single().Attribute("name")?.Value);

        node.Send(GetRegistration(Juliet));
        var registration = await node.Sink.WaitForAsync(Juliet, stanza => stanza.IsIqResult("register"));
        Assert.Equal("Juliet", registration.Descendants(Ns.Register + "username").Single().Value);

        await node.JoinAsync(Owner, OwnerNick);
        var ownerSelfPresence = node.Sink.To(Owner).Last(stanza => stanza.HasStatus(110));
        Assert.Equal("owner", ownerSelfPresence.Descendants(Ns.MucUser + "item").Single().Attribute("affiliation")?.Value);
    }

    /// <summary>
    /// A node that crashed (its rooms said no goodbye) comes back with the room's occupants, from the journal, and asks
    /// each of them whether they are still there (XEP-0199): whoever's server answers with an error is gone, and the
    /// others see them leave with 333; whoever answers stays without entering again.
    /// </summary>
    [Fact]
    public async Task Occupants_are_recovered_after_a_crash_and_those_whose_server_says_they_are_gone_leave_with_333()
    {
        var node = StartNode();
        await node.CreateRoomAsync();
        await node.JoinAsync(Romeo, "Romeo");
        Assert.Equal(2, (await node.InspectAsync()).Occupants);

        node = await RestartAsync(node);

        var inspection = await node.InspectAsync();
        Assert.True(inspection.Exists);
        Assert.Equal(2, inspection.Occupants);
        var pingToOwner = await node.Sink.WaitForAsync(Owner, IsPing);
        var pingToRomeo = await node.Sink.WaitForAsync(Romeo, IsPing);

        node.Send(XElement.Parse($"<iq xmlns='jabber:client' from='{Owner}' to='{Room}' type='result' id='{pingToOwner.Attribute("id")!.Value}'/>"));
        node.Send(XElement.Parse($"<iq xmlns='jabber:client' from='{Romeo}' to='{Room}' type='error' id='{pingToRomeo.Attribute("id")!.Value}'>" +
                                 "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"));

        var left = await node.Sink.WaitForAsync(Owner, stanza => stanza.Attribute("type")?.Value == "unavailable"
                                                                 && stanza.Attribute("from")?.Value == $"{Room}/Romeo");
        Assert.True(left.HasStatus(333));
        Assert.Equal(1, (await node.InspectAsync()).Occupants);
        // The owner stayed: what is said reaches them without entering again.
        await node.SayAsync(Owner, "still here");
    }

    private static bool IsPing(XElement stanza) =>
        stanza.Name == Ns.Client + "iq" && stanza.Attribute("type")?.Value == "get" && stanza.Element(Ns.Ping + "ping") is not null;
}
