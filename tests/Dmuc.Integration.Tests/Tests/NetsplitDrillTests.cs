using System.Xml.Linq;
using Dmuc.Actors.Replication;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Scansion;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Management.Contracts;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Muc.DrillTopology;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// A netsplit drill through real Prosody hosts (docs/protocol/netjoin.md): the link between the primary's node
/// (avalon.irc) and killrc's node is cut through the management endpoint, and real clients on every host check what
/// they see during the split and after the heal.
/// </summary>
public sealed class NetsplitDrillTests(ITestOutputHelper output)
{
    private const string Room = $"wallops@{MucDomain}";
    /// <summary>Served by the split replica itself, without a round trip to the primary (generous for a loaded machine).</summary>
    private static readonly TimeSpan LocalAnswer = TimeSpan.FromSeconds(5);
    private static readonly string[] MissedByKillrc = ["Anyone seen killrc?", "It went quiet over there."];
    private const string SaidDuringSplit = "anyone there?";
    private const string OffTheRecord = "Off the record: killrc is down again.";

    [Fact]
    [Trait("Category", "Netsplit")]
    public async Task Replica_users_are_served_locally_during_a_cut_and_everyone_converges_after_the_heal()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var topology = await DrillTopology.StartAsync();
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: three hosts up");
        await using var alice = await EnterAsync(topology, $"alice@{Avalon}/laptop", "Alice", creator: true);
        await using var wumpus = await EnterAsync(topology, $"argl@{Killrc}/laptop", "Wumpus");
        await using var valdis = await EnterAsync(topology, $"valdis@{Killrc}/laptop", "Valdis");
        await using var bigCheese = await EnterAsync(topology, $"rubenro@{Vesa}/laptop", "BigCheese");
        RoomParticipant[] everyone = [alice, wumpus, valdis, bigCheese];
        await RoomParticipant.SeeEachOtherAsync(everyone);

        // Cut through the endpoint of killrc's node, one end of the cut.
        using (var killrc = topology.Management(Killrc))
        {
            var cut = await killrc.PostAsync<NetsplitCutDone>(NetsplitApi.Cut, new NetsplitCutRequest(Avalon, Killrc), CancellationToken.None);
            Assert.Equal((Avalon, Killrc), (cut.A.Host, cut.B.Host));
        }
        await topology.WaitForLinkStateAsync(Room, Killrc, LinkState.Split);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: cut, and both ends see the split");
        Assert.Equal(LinkState.Linked.ToString(), (await topology.PrimaryLinkAsync(Room, Vesa)).State);

        // During the split: killrc's node serves its users at once. Their chat reaches each other (split-local-chat)…
        await wumpus.SendGroupchatAsync(SaidDuringSplit, id: "lonely");
        await wumpus.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, SaidDuringSplit), LocalAnswer);
        await valdis.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, SaidDuringSplit), LocalAnswer);
        // …but what needs another host gets an error, never a silent loss.
        await wumpus.Client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", alice.OccupantJid),
            new XAttribute("type", "chat"), new XAttribute("id", "to-avalon"), new XElement(XmppNamespaces.Client + "body", "psst")));
        SplitReplica.AssertNeedsThePrimary(await wumpus.WaitForAsync(stanza => (string?)stanza.Attribute("id") == "to-avalon", LocalAnswer), alice.OccupantJid);
        await valdis.LeaveAsync();
        var ownLeave = await valdis.WaitForAsync(RoomParticipant.PresenceOf(valdis.OccupantJid, available: false), LocalAnswer);
        Assert.True(MucClientSteps.HasStatus(ownLeave, 110));
        await wumpus.WaitForAsync(RoomParticipant.PresenceOf(valdis.OccupantJid, available: false), LocalAnswer);

        // The primary's side goes on: avalon and vesa talk as before.
        foreach (var body in MissedByKillrc)
        {
            await alice.SendGroupchatAsync(body);
            await alice.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, body));
            await bigCheese.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, body));
        }
        // A message that asks not to be stored (XEP-0334) is in no history a netjoin could replay.
        await alice.Client.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", Room), new XAttribute("type", "groupchat"),
            new XAttribute("id", "unstored"), new XElement(XmppNamespaces.Client + "body", OffTheRecord),
            new XElement((XNamespace)"urn:xmpp:hints" + "no-store")));
        await bigCheese.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, OffTheRecord));
        await wumpus.CatchUpAsync();
        Assert.All(MissedByKillrc, body => Assert.Equal(0, wumpus.CopiesOf(body)));

        // Heal through the primary's endpoint, the other end of the cut.
        using (var avalon = topology.Management(Avalon))
        {
            var heal = await avalon.PostAsync<NetsplitHealDone>(NetsplitApi.Heal, null, CancellationToken.None);
            output.WriteLine(string.Join("\n", heal.Nodes));
            Assert.All(heal.Nodes, node => Assert.Equal(NodeHealOutcome.Healed, node.Outcome));
            Assert.Equal([Killrc], heal.Nodes.Single(node => node.Host == Avalon).HealedLinksTo);
            Assert.Equal([Avalon], heal.Nodes.Single(node => node.Host == Killrc).HealedLinksTo);
            Assert.Empty(heal.Nodes.Single(node => node.Host == Vesa).HealedLinksTo);
        }
        await topology.WaitForLinkStateAsync(Room, Killrc, LinkState.Linked);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: healed, both ends linked");

        // After the netjoin: a message said now reaches everyone after everything the netjoin brought.
        const string afterHeal = "Welcome back, killrc.";
        await alice.SendGroupchatAsync(afterHeal);
        RoomParticipant[] stayed = [alice, wumpus, bigCheese];
        foreach (var participant in stayed) await participant.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, afterHeal));
        foreach (var participant in stayed) await participant.CatchUpAsync();

        foreach (var body in MissedByKillrc)
        {
            Assert.All(stayed, participant => Assert.Equal(1, participant.CopiesOf(body)));
            var missed = wumpus.Seen.Single(stanza => MucClientSteps.IsGroupchatBody(stanza, body));
            Assert.NotNull(missed.Element(MucClientSteps.Delay + "delay"));
        }
        // What killrc said among itself reaches the others once, delayed, and killrc's users do not get it again.
        Assert.All(stayed, participant => Assert.Equal(1, participant.CopiesOf(SaidDuringSplit)));
        Assert.NotNull(alice.Seen.Single(stanza => MucClientSteps.IsGroupchatBody(stanza, SaidDuringSplit)).Element(MucClientSteps.Delay + "delay"));
        Assert.Equal(0, alice.CopiesOf("psst"));
        // …and killrc's users are told they missed one message that asked not to be stored, once; nobody else is.
        Assert.Equal(0, wumpus.CopiesOf(OffTheRecord));
        Assert.Equal(1, wumpus.CopiesOf($"1 {UnstoredMessages.MissedText}"));
        Assert.Equal(0, alice.CopiesOf($"1 {UnstoredMessages.MissedText}") + bigCheese.CopiesOf($"1 {UnstoredMessages.MissedText}"));
        Assert.All(stayed, participant =>
            Assert.Single(participant.Seen, RoomParticipant.PresenceOf(valdis.OccupantJid, available: false).Invoke));
        Assert.All(stayed, participant => Assert.Equal(["Alice", "BigCheese", "Wumpus"], participant.Roster()));

        // A fresh entry on the healed host gets the room's roster from the primary.
        await using var phaedrus = await EnterAsync(topology, $"phaedrus@{Killrc}/laptop", "Phaedrus");
        Assert.Equal(["Alice", "BigCheese", "Phaedrus", "Wumpus"], phaedrus.Roster());
        await alice.WaitForAsync(RoomParticipant.PresenceOf(phaedrus.OccupantJid, available: true));
    }

    /// <summary>The same drill as a scansion script (Scansion/multihost/drills/netsplit.scs), with "Netsplit" steps.</summary>
    [Fact]
    [Trait("Category", "Netsplit")]
    public async Task The_netsplit_scansion_script_passes_through_real_Prosody()
    {
        var script = ScansionParser.ParseFile(Path.Combine(RepositoryPaths.MultiHostScriptsDirectory, "drills", "netsplit.scs"));
        await using var topology = await DrillTopology.StartAsync();
        // The first entry of a topology runs the cluster path cold: seconds on a busy machine.
        var options = new ScansionOptions { Drill = new RoomLinkDrill(topology, Room), ReceiveTimeout = TimeSpan.FromSeconds(30) };
        var result = await new ScansionRunner(client => topology.Environment.ClientEndpointFor(client.Domain), options).RunAsync(script);
        output.WriteLine(result.Report);
        Assert.True(result.Passed, result.Report);
    }

    private static Task<RoomParticipant> EnterAsync(DrillTopology topology, string jid, string nick, bool creator = false) =>
        topology.EnterAsync(jid, Room, nick, creator);
}

/// <summary>
/// What a replica split from its primary answers a user's stanza that only the primary could serve (netjoin.md §2:
/// an error, never a silent loss).
/// </summary>
internal static class SplitReplica
{
    public static void AssertNeedsThePrimary(XElement answer, string to)
    {
        Assert.Equal("error", (string?)answer.Attribute("type"));
        Assert.Equal(to, (string?)answer.Attribute("from"));
        var error = answer.Element(XmppNamespaces.Client + "error");
        Assert.NotNull(error?.Element(XNamespace.Get("urn:ietf:params:xml:ns:xmpp-stanzas") + "remote-server-timeout"));
        Assert.Equal(ReplicaRoomState.SplitErrorText, error?.Element(XNamespace.Get("urn:ietf:params:xml:ns:xmpp-stanzas") + "text")?.Value);
    }
}
