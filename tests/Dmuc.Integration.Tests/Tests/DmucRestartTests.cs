using System.Xml.Linq;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>Restarts through a real Prosody: of the Dmuc node (rooms come back from the journal) and of Prosody (the node reconnects).</summary>
public sealed class DmucRestartTests(ITestOutputHelper output)
{
    private const string Room = "verona@conference.localhost";
    private static readonly TimeSpan ReconnectTimeout = TimeSpan.FromSeconds(20);
    /// <summary>How long a ghost may outlive the node's restart: the component reconnects, then one ping's round trip.</summary>
    private static readonly TimeSpan GhostBound = TimeSpan.FromSeconds(15);
    /// <summary>Sent just before the kill: enough that many reach the node and are not yet written when it dies.</summary>
    private const int InFlightMessages = 90;

    [Fact]
    public async Task A_persistent_room_keeps_its_history_and_subject_across_a_node_restart()
    {
        await using var dmuc = new RestartableDmucNode();
        await using var environment = await MucTestEnvironment.StartAsync(dmuc.Muc);
        await using var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        await EnterPersistentRoomAsync(romeo, juliet);
        await romeo.SetSubjectAsync(Room, "Star-crossed");
        string[] bodies = ["But soft!", "What light", "through yonder window breaks?"];
        foreach (var body in bodies)
            await romeo.SayAsync(Room, body);

        var handshakesBefore = environment.Prosody.ComponentHandshakes();
        await dmuc.StopAsync();
        foreach (var (client, nick) in new[] { (romeo, "Romeo"), (juliet, "Juliet") })
        {
            await client.ReceiveUntilAsync(stanza => stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "unavailable" &&
                (string?)stanza.Attribute("from") == $"{Room}/{nick}" && HasStatus(stanza, 332));
        }
        await dmuc.StartAsync();
        await environment.Prosody.WaitForComponentAsync(ReconnectTimeout, handshakesBefore: handshakesBefore);

        await using var mercutio = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "mercutio@localhost/street", "x");
        var joined = await mercutio.JoinRoomAsync(Room, "Mercutio");

        var history = joined.Where(stanza => stanza.Element(XmppNamespaces.Client + "body") is not null).ToList();
        Assert.Equal(bodies, history.Select(stanza => stanza.Element(XmppNamespaces.Client + "body")!.Value));
        Assert.All(history, stanza => Assert.NotNull(stanza.Element(Delay + "delay")));
        Assert.Equal("Star-crossed", joined[^1].Element(XmppNamespaces.Client + "subject")!.Value);
    }

    /// <summary>
    /// Akka.Remote shuts the actor system down when an outbound TLS handshake fails (a peer died during it), and the node
    /// starts it again in the same process (docs/operations.md): its occupants are not put out for that, and a message after
    /// the restart reaches them without their entering again.
    /// </summary>
    [Fact]
    public async Task A_node_restarting_after_Akka_Remote_shut_it_down_keeps_its_occupants_in_the_room()
    {
        await using var dmuc = new RestartableDmucNode();
        await using var environment = await MucTestEnvironment.StartAsync(dmuc.Muc);
        await using var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        await EnterPersistentRoomAsync(romeo, juliet);

        var handshakesBefore = environment.Prosody.ComponentHandshakes();
        await dmuc.ShutDownAsync(new TlsHandshakeFailure());
        await dmuc.StartAsync();
        await environment.Prosody.WaitForComponentAsync(ReconnectTimeout, handshakesBefore: handshakesBefore);

        await romeo.SayAsync(Room, "after the restart");
        var toJuliet = await juliet.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, "after the restart"), GhostBound);
        Assert.DoesNotContain(toJuliet, stanza => stanza.Name.LocalName == "presence" && (HasStatus(stanza, 332) || HasStatus(stanza, 110)));
    }

    /// <summary>Romeo makes the room persistent; Juliet enters it.</summary>
    private static async Task EnterPersistentRoomAsync(XmppTestClient romeo, XmppTestClient juliet)
    {
        await romeo.JoinRoomAsync(Room, "Romeo");
        await romeo.ConfigureRoomAsync(Room, ("muc#roomconfig_persistentroom", "1"));
        await juliet.JoinRoomAsync(Room, "Juliet");
    }

    /// <summary>Akka.Remote's reason (an internal type), as the node tells it apart: by its exit code.</summary>
    private sealed class TlsHandshakeFailure : Akka.Actor.CoordinatedShutdown.Reason
    {
        public override int ExitCode => Dmuc.Actors.Component.RestartingShutdown.TlsHandshakeFailureExitCode;
    }

    /// <summary>
    /// The node is killed (SIGKILL) and restarted on its journal: the room comes back with its occupants, asks each of
    /// them whether they are still there, and those who are (one who only reads included) stay without entering again,
    /// while whoever went away meanwhile is seen to leave (333). Messages sent just before the kill, some of them handed
    /// to the node and not yet written, each get one outcome: Prosody's mod_dmuc_stream_ack hands the restarted node what
    /// the killed one had not acknowledged, and the room drops what it had processed (docs/protocol/stream-ack.md). And each
    /// reaches each occupant once: Prosody's mod_dmuc_delivered tells the restarted room what each session got, and it resends
    /// only what the killed node journaled and never handed over (docs/protocol/delivered.md).
    /// </summary>
    [Fact]
    public async Task After_a_crash_the_room_keeps_who_is_still_there_and_tells_everyone_who_is_gone()
    {
        // The burst below is about the crash: the occupant stanza rate (10 at once) would answer most of it with errors.
        await using var dmuc = new DmucNodeProcess(new Dictionary<string, string?>
        {
            ["Dmuc:Limits:OccupantStanzaBurst"] = "1000",
            ["Dmuc:Limits:OccupantStanzasPerSecond"] = "1000",
        });
        await using var environment = await MucTestEnvironment.StartAsync(dmuc.Muc);
        await environment.Prosody.WaitForComponentAsync(ReconnectTimeout);
        await using var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        var mercutio = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "mercutio@localhost/street", "x");
        await EnterPersistentRoomAsync(romeo, juliet);
        // The whole burst in what a newcomer may ask for, to tell a message written and never sent from one lost.
        await romeo.ConfigureRoomAsync(Room, ("muc#roomconfig_historylength", $"{InFlightMessages + 10}"));
        await mercutio.JoinRoomAsync(Room, "Mercutio");
        await romeo.SayAsync(Room, "before the crash");
        await juliet.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, "before the crash"));
        // What the room delivered is the service's to ask, nobody else's.
        await romeo.SendAsync($"<iq type='get' id='prying' to='conference.localhost'><delivered xmlns='urn:xmpp:tmp:dmuc:delivered:0' room='{Room}'/></iq>");
        var refused = (await romeo.ReceiveUntilAsync(stanza => (string?)stanza.Attribute("id") == "prying"))[^1];
        Assert.Equal("error", (string?)refused.Attribute("type"));
        Assert.NotNull(refused.Element(XmppNamespaces.Client + "error")?.Element(XName.Get("forbidden", "urn:ietf:params:xml:ns:xmpp-stanzas")));

        var handshakesBefore = environment.Prosody.ComponentHandshakes();
        // In one write, so that Prosody hands them on together; killed once the node has begun to echo them.
        var inFlight = Enumerable.Range(1, InFlightMessages).Select(i => $"in flight {i}").ToList();
        await romeo.SendAsync(string.Concat(inFlight.Select(body =>
            $"<message to='{Room}' type='groupchat' id='{body}'><body>{body}</body></message>")));
        var seen = new Dictionary<XmppTestClient, List<XElement>>
        {
            [romeo] = await romeo.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, inFlight[0])),
            [juliet] = [],
        };
        await dmuc.KillAsync();
        // Mercutio goes while the node is down. His server's unavailable presence has nowhere to go (the room finds him gone:
        // 333), unless Prosody handed it to the dying stream before it saw the kill: then it is resent, and he leaves as usual.
        await mercutio.DisposeAsync();
        dmuc.Start();
        await environment.Prosody.WaitForComponentAsync(ReconnectTimeout, handshakesBefore: handshakesBefore);

        foreach (var witness in new[] { romeo, juliet })
        {
            var left = await witness.ReceiveUntilAsync(stanza => stanza.Name.LocalName == "presence"
                && (string?)stanza.Attribute("type") == "unavailable" && (string?)stanza.Attribute("from") == $"{Room}/Mercutio", GhostBound);
            Assert.True(HasStatus(left[^1], 333) || left[^1].Element(MucUser + "x")?.Element(MucUser + "status") is null, left[^1].ToString());
            Assert.DoesNotContain(left, stanza => HasStatus(stanza, 110));
            seen[witness].AddRange(left);
        }
        // Juliet only reads, and reads on: what Romeo says now reaches her without either entering again.
        await romeo.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", Room), new XAttribute("type", "groupchat"),
            new XAttribute("id", "after"), new XElement(XmppNamespaces.Client + "body", "after the crash")));
        seen[romeo].AddRange(await romeo.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, "after the crash"), GhostBound));
        var toJuliet = await juliet.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, "after the crash"), GhostBound);
        Assert.DoesNotContain(toJuliet, stanza => stanza.Name.LocalName == "presence" && HasStatus(stanza, 110));
        seen[juliet].AddRange(toJuliet);


        await using var benvolio = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "benvolio@localhost/square", "x");
        await benvolio.SendAsync($"<presence to='{Room}/Benvolio'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='{InFlightMessages + 10}'/></x></presence>");
        var joined = await benvolio.ReceiveUntilAsync(stanza => stanza.Element(XmppNamespaces.Client + "subject") is not null);
        var present = joined.Where(stanza => stanza.Name.LocalName == "presence" && stanza.Attribute("type") is null)
            .Select(stanza => ((string?)stanza.Attribute("from"))?.Split('/')[1]).Order().ToList();
        Assert.Equal(["Benvolio", "Juliet", "Romeo"], present);

        // Resent ones come first on the new stream, so every outcome was in before the echo of what Romeo said after. What the
        // killed node wrote but never sent, Prosody's resend does not bring (the room drops it as processed): the restarted room
        // resends it, delayed with its stanza-id, to each session that its server says did not get it (netjoin.md §5), so
        // every copy counts.
        var (romeoSaw, julietSaw) = (seen[romeo], seen[juliet]);
        foreach (var body in inFlight)
        {
            var echoes = romeoSaw.Count(stanza => IsGroupchatBody(stanza, body));
            var errors = romeoSaw.Count(stanza => stanza.Name.LocalName == "message" && (string?)stanza.Attribute("type") == "error"
                && (string?)stanza.Attribute("id") == body);
            Assert.True(echoes + errors == 1, $"'{body}' got {echoes} echoes and {errors} errors");
            Assert.Equal(echoes, julietSaw.Count(stanza => IsGroupchatBody(stanza, body)));
        }
        output.WriteLine($"{inFlight.Count} messages sent into the kill; resent to Romeo after the restart (each his only copy): {romeoSaw.Count - WithoutResends(romeoSaw, Room).Count()}");
    }

    [Fact]
    public async Task Public_persistent_rooms_are_listed_after_a_node_restart_before_anyone_enters_them()
    {
        await using var dmuc = new RestartableDmucNode();
        await using var environment = await MucTestEnvironment.StartAsync(dmuc.Muc);
        await using var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x");
        string[] rooms = ["capulet@conference.localhost", "montague@conference.localhost"];
        foreach (var room in rooms)
        {
            await romeo.JoinRoomAsync(room, "Romeo");
            await romeo.ConfigureRoomAsync(room, ("muc#roomconfig_persistentroom", "1"), ("muc#roomconfig_publicroom", "1"));
        }
        Assert.Equal(rooms, await ListedRoomsAsync(romeo, "before"));

        var handshakesBefore = environment.Prosody.ComponentHandshakes();
        await dmuc.StopAsync();
        await dmuc.StartAsync();
        await environment.Prosody.WaitForComponentAsync(ReconnectTimeout, handshakesBefore: handshakesBefore);

        await using var mercutio = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "mercutio@localhost/street", "x");
        Assert.Equal(rooms, await ListedRoomsAsync(mercutio, "after"));
    }

    private static async Task<List<string>> ListedRoomsAsync(XmppTestClient client, string id)
    {
        await client.SendAsync($"<iq type='get' id='{id}' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
        var reply = (await client.ReceiveUntilAsync(IsReplyTo(id)))[^1];
        return reply.Descendants((XNamespace)"http://jabber.org/protocol/disco#items" + "item").Select(item => (string)item.Attribute("jid")!).ToList();
    }

    [Fact]
    public async Task The_node_reconnects_after_Prosody_is_killed_and_restarted_and_rooms_work_again()
    {
        await using var dmuc = new RestartableDmucNode();
        await using var environment = await MucTestEnvironment.StartAsync(dmuc.Muc);
        await using (var romeo = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "romeo@localhost/balcony", "x"))
        {
            await romeo.JoinRoomAsync(Room, "Romeo");
            await romeo.ConfigureRoomAsync(Room, ("muc#roomconfig_persistentroom", "1"));
            await romeo.SayAsync(Room, "before the crash");
        }

        var handshakesBefore = environment.Prosody.ComponentHandshakes();
        await environment.Prosody.KillAndRestartAsync();
        await environment.Prosody.WaitForComponentAsync(ReconnectTimeout, handshakesBefore: handshakesBefore);

        await using var juliet = await XmppTestClient.ConnectAsync(environment.ClientEndpoint, "juliet@localhost/garden", "x");
        var joined = await juliet.JoinRoomAsync(Room, "Juliet");
        Assert.Contains(joined, stanza => IsGroupchatBody(stanza, "before the crash"));
        await juliet.SayAsync(Room, "after the restart");
    }
}
