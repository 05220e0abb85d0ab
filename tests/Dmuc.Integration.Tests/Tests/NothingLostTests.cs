using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Management.Contracts;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Muc.DrillTopology;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// Every stanza a user sends gets one outcome, across cuts and crashes (docs/protocol/netjoin.md): real clients on
/// three real Prosody hosts, links cut through the nodes' management endpoints, a host's Prosody killed (SIGKILL).
/// </summary>
public sealed class NothingLostTests(ITestOutputHelper output)
{
    private const string Room = $"wallops@{MucDomain}";
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReconnectTimeout = TimeSpan.FromSeconds(30);
    /// <summary>How long a ghost may outlive its server's restart: the component reconnects, then one ping's round trip.</summary>
    private static readonly TimeSpan GhostBound = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A message said on killrc right after a cut, before either end noticed it: the forward is lost in the cut, but the
    /// replica keeps it until the room acknowledges it, so the netjoin brings it, and everyone gets it exactly once.
    /// </summary>
    [Fact]
    [Trait("Category", "Netsplit")]
    public async Task A_message_sent_into_a_cut_before_it_is_noticed_reaches_everyone_once_after_the_heal()
    {
        await using var topology = await DrillTopology.StartAsync();
        var (alice, wumpus, valdis, bigCheese) = await PopulateAsync(topology);
        await using var leave = AsyncDisposable.Create(async () =>
        {
            foreach (var participant in new[] { alice, wumpus, valdis, bigCheese }) await participant.DisposeAsync();
        });
        RoomParticipant[] everyone = [alice, wumpus, valdis, bigCheese];

        using (var avalon = topology.Management(Avalon))
            await avalon.PostAsync<NetsplitCutDone>(NetsplitApi.Cut, new NetsplitCutRequest(Avalon, Killrc), CancellationToken.None);
        const string intoTheCut = "said into the cut";
        await wumpus.SendGroupchatAsync(intoTheCut, id: "into-the-cut");
        await topology.WaitForLinkStateAsync(Room, Killrc, LinkState.Split);
        output.WriteLine($"killrc holds {(await topology.InspectReplicaAsync(Killrc, Room)).UnacknowledgedForwards} unacknowledged forwards");

        await new RoomLinkDrill(topology, Room).HealAsync(CancellationToken.None);

        foreach (var participant in everyone) await participant.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, intoTheCut), Answer);
        const string afterHeal = "after the heal";
        await alice.SendGroupchatAsync(afterHeal);
        foreach (var participant in everyone) await participant.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, afterHeal), Answer);
        foreach (var participant in everyone) await participant.CatchUpAsync();

        Assert.All(everyone, participant => Assert.Equal(1, participant.CopiesOf(intoTheCut)));
        Assert.DoesNotContain(wumpus.Seen, stanza => (string?)stanza.Attribute("type") == "error");
        Assert.Equal(0, (await topology.InspectReplicaAsync(Killrc, Room)).UnacknowledgedForwards);
        // The room keeps it once: a newcomer's history has it.
        await using var phaedrus = await topology.EnterAsync($"phaedrus@{Vesa}/laptop", Room, "Phaedrus");
        Assert.Equal(1, phaedrus.CopiesOf(intoTheCut));
    }

    /// <summary>
    /// A private message from the primary's side to an occupant of a split host cannot wait for the netjoin (a resync
    /// brings the room's roster and history, not one occupant's words to another): its sender gets an error at once.
    /// </summary>
    [Fact]
    [Trait("Category", "Netsplit")]
    public async Task A_private_message_to_an_occupant_of_a_split_host_gets_an_error()
    {
        await using var topology = await DrillTopology.StartAsync();
        var (alice, wumpus, valdis, bigCheese) = await PopulateAsync(topology);
        await using var leave = AsyncDisposable.Create(async () =>
        {
            foreach (var participant in new[] { alice, wumpus, valdis, bigCheese }) await participant.DisposeAsync();
        });

        await new RoomLinkDrill(topology, Room).CutAsync(Avalon, Killrc, CancellationToken.None);

        foreach (var (sender, id) in new[] { (alice, "from-avalon"), (bigCheese, "from-vesa") })
        {
            await sender.Client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", wumpus.OccupantJid),
                new XAttribute("type", "chat"), new XAttribute("id", id), new XElement(XmppNamespaces.Client + "body", "psst " + id)));
            var answer = await sender.WaitForAsync(stanza => (string?)stanza.Attribute("id") == id, Answer);
            Assert.Equal("error", (string?)answer.Attribute("type"));
            Assert.Equal(wumpus.OccupantJid, (string?)answer.Attribute("from"));
            var error = answer.Element(XmppNamespaces.Client + "error");
            Assert.Equal("wait", (string?)error?.Attribute("type"));
            Assert.NotNull(error?.Element(XNamespace.Get("urn:ietf:params:xml:ns:xmpp-stanzas") + "remote-server-timeout"));
        }

        await new RoomLinkDrill(topology, Room).HealAsync(CancellationToken.None);
        await alice.SendGroupchatAsync("after the heal");
        await wumpus.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, "after the heal"), Answer);
        await wumpus.CatchUpAsync();
        // One outcome each: the error, never a late delivery as well.
        Assert.DoesNotContain(wumpus.Seen, stanza => stanza.Element(XmppNamespaces.Client + "body")?.Value.StartsWith("psst") == true);
    }

    /// <summary>
    /// A host's Prosody is killed and restarts without its sessions: once the component stream is back, the room asks
    /// each of that host's occupants whether they are still there, and everyone else sees the ghosts leave (333) within
    /// seconds, on a replica host and on the primary's own.
    /// </summary>
    [Fact]
    [Trait("Category", "Netsplit")]
    public async Task The_occupants_of_a_crashed_server_are_seen_to_leave_within_seconds_of_its_restart()
    {
        await using var topology = await DrillTopology.StartAsync();
        var (alice, wumpus, valdis, bigCheese) = await PopulateAsync(topology);
        await using var leave = AsyncDisposable.Create(async () =>
        {
            foreach (var participant in new[] { alice, wumpus, valdis, bigCheese }) await participant.DisposeAsync();
        });

        await RestartServerAsync(topology, Killrc);
        var restartedAt = DateTime.UtcNow;
        foreach (var ghost in new[] { wumpus, valdis })
        foreach (var witness in new[] { alice, bigCheese })
        {
            var left = await witness.WaitForAsync(RoomParticipant.PresenceOf(ghost.OccupantJid, available: false), GhostBound);
            Assert.True(MucClientSteps.HasStatus(left, 333), left.ToString());
        }
        output.WriteLine($"killrc's ghosts gone {(DateTime.UtcNow - restartedAt).TotalSeconds:0.0} s after its component was back");
        await using var phaedrus = await topology.EnterAsync($"phaedrus@{Killrc}/laptop", Room, "Phaedrus");
        Assert.Equal(["Alice", "BigCheese", "Phaedrus"], phaedrus.Roster());

        // The primary's own host: its node asks its server too.
        await RestartServerAsync(topology, Avalon);
        foreach (var witness in new[] { bigCheese, phaedrus })
        {
            var left = await witness.WaitForAsync(RoomParticipant.PresenceOf(alice.OccupantJid, available: false), GhostBound);
            Assert.True(MucClientSteps.HasStatus(left, 333), left.ToString());
        }
        await using var trillian = await topology.EnterAsync($"trillian@{Avalon}/laptop", Room, "Trillian");
        Assert.Equal(["BigCheese", "Phaedrus", "Trillian"], trillian.Roster());
        // Those who stayed answered the room's question and are still in: nobody else left.
        Assert.DoesNotContain(bigCheese.Seen, RoomParticipant.PresenceOf(phaedrus.OccupantJid, available: false).Invoke);
        Assert.DoesNotContain(phaedrus.Seen, RoomParticipant.PresenceOf(bigCheese.OccupantJid, available: false).Invoke);
    }

    private static async Task RestartServerAsync(DrillTopology topology, string host)
    {
        var server = (ProsodyServer)topology.Environment.Server(host);
        var handshakesBefore = server.ComponentHandshakes();
        await server.KillAndRestartAsync();
        await server.WaitForComponentAsync(ReconnectTimeout, handshakesBefore: handshakesBefore);
    }

    /// <summary>The room with Alice (avalon, its creator), Wumpus and Valdis (killrc) and BigCheese (vesa), each seeing all.</summary>
    private static async Task<(RoomParticipant Alice, RoomParticipant Wumpus, RoomParticipant Valdis, RoomParticipant BigCheese)> PopulateAsync(
        DrillTopology topology)
    {
        var alice = await topology.EnterAsync($"alice@{Avalon}/laptop", Room, "Alice", creator: true);
        var wumpus = await topology.EnterAsync($"argl@{Killrc}/laptop", Room, "Wumpus");
        var valdis = await topology.EnterAsync($"valdis@{Killrc}/laptop", Room, "Valdis");
        var bigCheese = await topology.EnterAsync($"rubenro@{Vesa}/laptop", Room, "BigCheese");
        await RoomParticipant.SeeEachOtherAsync([alice, wumpus, valdis, bigCheese]);
        return (alice, wumpus, valdis, bigCheese);
    }
}
