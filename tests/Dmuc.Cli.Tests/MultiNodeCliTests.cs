using System.Xml.Linq;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Management.Contracts;
using Xunit.Abstractions;
using static Dmuc.Cli.Tests.DrillTopologyFixture;
using static Dmuc.Integration.Tests.Muc.DrillTopology;

namespace Dmuc.Cli.Tests;

/// <summary>
/// Every dmuc command against a running three-node topology (real Prosody hosts, nodes over real Akka.Remote), asked
/// through the node of the host named in each call: tables and JSON carry the cluster's real values.
/// </summary>
[Collection(CliTopologies.Collection)]
public sealed class MultiNodeCliTests(DrillTopologyFixture fixture, ITestOutputHelper log) : IClassFixture<DrillTopologyFixture>
{
    private DrillTopology Topology => fixture.Topology;

    private async Task<CliRun> Dmuc(string host, params string[] args)
    {
        var run = await CliRun.InvokeAsync([.. args, "--node", Topology.ManagementUrl(host), "--token", Token]);
        log.WriteLine($"$ dmuc {string.Join(' ', args)}   # through {host}'s node\n{run.Output}{run.Error}(exit {run.ExitCode})\n");
        return run;
    }

    [Fact]
    public async Task Cluster_show_lists_every_node_with_its_host_and_role()
    {
        var table = await Dmuc(Vesa, "cluster", "show");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.All(Hosts, host => Assert.Contains(host, table.Output));
        Assert.Contains("akka.trttl.ssl.tcp://dmuc@127.0.0.1:", table.Output);

        var cluster = (await Dmuc(Vesa, "cluster", "show", "--json")).Json<ClusterView>();
        Assert.Equal(Hosts.Order(), cluster.Members.Select(member => member.HostDomain).Order());
        Assert.All(cluster.Members, member => Assert.Equal(("Up", true), (member.Status, member.Reachable)));
        Assert.Equal(Avalon, Assert.Single(cluster.Members, member => member.IsPrimary).HostDomain);
        var self = Assert.Single(cluster.Members, member => member.IsSelf);
        Assert.Equal((Vesa, cluster.Self), (self.HostDomain, self.Address));
        Assert.Contains($"host-{Vesa}", self.Roles);
    }

    [Fact]
    public async Task Actors_tree_shows_the_room_with_its_links_on_the_primary_and_its_replica_on_a_replica()
    {
        var primary = (await Dmuc(Avalon, "actors", "tree", "/user/rooms", "--json")).Json<ActorTreeView>();
        var room = Assert.Single(primary.Root.Children, child => child.Path == "/user/rooms/" + Uri.EscapeDataString(Wallops));
        Assert.Equal([$"replica-{Killrc}", $"replica-{Vesa}"], room.Children.Select(link => link.Name).Order());

        var table = await Dmuc(Killrc, "actors", "tree", "/user", "--depth", "2");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains("netsplit-drill", table.Output);
        var replica = (await Dmuc(Killrc, "actors", "tree", "/user/replicas", "--json")).Json<ActorTreeView>();
        Assert.Contains(replica.Root.Children, child => child.Path == "/user/replicas/" + Uri.EscapeDataString(Wallops));
    }

    [Fact]
    public async Task Rooms_list_counts_the_occupants_on_the_primary_and_names_the_primary_on_a_replica()
    {
        var table = await Dmuc(Avalon, "rooms", "list");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains($"{Killrc}, {Vesa}", table.Output);

        var rooms = (await Dmuc(Avalon, "rooms", "list", "--json")).Json<RoomsView>();
        Assert.Equal(NodeRoleView.Primary, rooms.NodeRole);
        var wallops = Assert.Single(rooms.Rooms, listed => listed.Room == Wallops);
        Assert.Equal(3, wallops.Occupants);
        Assert.Equal([Killrc, Vesa], wallops.ReplicaHosts);

        // A killrc user asks the service itself for its rooms: the answer comes back through killrc's replica directory.
        await using (var valdis = await Topology.ConnectAsync($"valdis@{Killrc}/desk"))
        {
            await valdis.SendAsync($"<iq type='get' id='items' to='{MucDomain}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
            Assert.Equal("result", (string?)(await valdis.ReceiveUntilAsync(MucClientSteps.IsReplyTo("items")))[^1].Attribute("type"));
        }
        var onReplica = (await Dmuc(Killrc, "rooms", "list", "--json")).Json<RoomsView>();
        Assert.Equal(NodeRoleView.Replica, onReplica.NodeRole);
        Assert.Equal(rooms.PrimaryNode, onReplica.PrimaryNode);
        Assert.Equal(3, Assert.Single(onReplica.Rooms, listed => listed.Room == Wallops).Occupants);
        Assert.DoesNotContain(onReplica.Rooms, listed => listed.Room == MucDomain);
        Assert.Contains("This node is a replica", (await Dmuc(Killrc, "rooms", "list")).Output);
    }

    [Fact]
    public async Task Room_show_counts_the_occupants_by_host_and_shows_each_replica_link_linked()
    {
        var room = (await Dmuc(Avalon, "room", "show", Wallops, "--json")).Json<RoomDetails>();
        Assert.Equal(["Alice"], NicksOn(room, Avalon));
        Assert.Equal(["Wumpus"], NicksOn(room, Killrc));
        Assert.Equal(["BigCheese"], NicksOn(room, Vesa));
        Assert.Equal(WallopsMessages.Length, room.HistoryLength);
        Assert.Equal([Killrc, Vesa], room.ReplicaLinks.Select(link => link.Host));
        Assert.All(room.ReplicaLinks, link => Assert.Equal(("Linked", (DateTimeOffset?)null), (link.State, link.SplitSince)));
        Assert.All(room.ReplicaLinks, link => Assert.True(link.BatchesSent > 0, $"{link.Host}: no batches sent"));

        var table = await Dmuc(Avalon, "room", "show", "wallops");
        Assert.Contains($"argl@{Killrc}/laptop", table.Output);
        Assert.Contains("Linked", table.Output);

    }

    [Fact]
    public async Task Room_show_on_a_replica_shows_its_roster_history_and_link_to_the_primary()
    {
        var room = (await Dmuc(Killrc, "room", "show", Wallops, "--json")).Json<RoomDetails>();
        Assert.Equal(["Alice", "BigCheese", "Wumpus"], room.OccupantsByHost.SelectMany(host => host.Occupants).Select(o => o.Nick).Order());
        var local = Assert.Single(room.OccupantsByHost, host => host.Host == Killrc);
        var wumpus = Assert.Single(local.Occupants);
        Assert.Equal(("Wumpus", $"argl@{Killrc}/laptop", "Participant"), (wumpus.Nick, wumpus.RealJid, wumpus.Role));
        Assert.All(room.OccupantsByHost.Single(host => host.Host is null).Occupants, other => Assert.Null(other.RealJid));
        Assert.Equal("Owner", room.OccupantsByHost.SelectMany(host => host.Occupants).Single(o => o.Nick == "Alice").Affiliation);
        Assert.Equal(WallopsMessages.Length, room.HistoryLength);
        Assert.Null(room.JournalSequenceNr);
        var link = room.Replica!;
        Assert.Equal(("Linked", (await ClusterAsync(Killrc)).Members.Single(member => member.IsPrimary).Address), (link.State, link.PrimaryNode));
        Assert.True(link.LastBatchSequence > 0);

        var table = await Dmuc(Killrc, "room", "show", "wallops");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains("This node is a replica", table.Output);
        Assert.Contains($"argl@{Killrc}/laptop", table.Output);
        Assert.Contains("Linked", table.Output);

        Assert.Equal(ExitCodes.NotFound, (await Dmuc(Killrc, "room", "show", $"nowhere@{MucDomain}")).ExitCode);
        var history = await Dmuc(Killrc, "room", "history", Wallops);
        Assert.Equal(ExitCodes.Failed, history.ExitCode);
        Assert.Contains("rooms are managed on the primary", history.Error);
    }

    [Fact]
    public async Task Room_history_shows_what_was_said_from_the_primary()
    {
        var table = await Dmuc(Avalon, "room", "history", Wallops, "--last", "1");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains(WallopsMessages[^1], table.Output);
        Assert.DoesNotContain(WallopsMessages[0], table.Output);

        var history = (await Dmuc(Avalon, "room", "history", Wallops, "--json")).Json<RoomHistoryView>();
        Assert.Equal(WallopsMessages, history.Messages.Select(message => message.Body));
        Assert.All(history.Messages, message => Assert.Equal(("Alice", $"alice@{Avalon}"), (message.Nick, message.Sender)));
    }

    [Fact]
    public async Task Room_kick_reaches_an_occupant_on_a_replica_host()
    {
        var room = $"kicks@{MucDomain}";
        await fixture.OpenRoomAsync(room, $"bob@{Avalon}/desk", "Bob");
        var msa = await fixture.EnterAsync(room, $"msa@{Vesa}/laptop", "Msa");

        var kick = await Dmuc(Avalon, "room", "kick", room, "Msa", "--reason", "drill");
        Assert.Equal(ExitCodes.Ok, kick.ExitCode);
        Assert.Contains("Kicked Msa", kick.Output);
        var kicked = await msa.WaitForAsync(RoomParticipant.PresenceOf(msa.OccupantJid, available: false));
        Assert.True(MucClientSteps.HasStatus(kicked, 307));

        var after = (await Dmuc(Avalon, "room", "show", room, "--json")).Json<RoomDetails>();
        Assert.Equal([Avalon], after.OccupantsByHost.Select(host => host.Host));
    }

    [Fact]
    public async Task Room_destroy_tells_the_occupants_on_replica_hosts()
    {
        var room = $"doomed@{MucDomain}";
        await fixture.OpenRoomAsync(room, $"admin@{Avalon}/desk", "Admin");
        var phaedrus = await fixture.EnterAsync(room, $"phaedrus@{Killrc}/laptop", "Phaedrus");

        var destroy = await Dmuc(Avalon, "room", "destroy", room);
        Assert.Equal(ExitCodes.Ok, destroy.ExitCode);
        var destroyed = await phaedrus.WaitForAsync(RoomParticipant.PresenceOf(phaedrus.OccupantJid, available: false));
        Assert.NotNull(destroyed.Descendants(MucClientSteps.MucUser + "destroy").FirstOrDefault());
        Assert.Equal(ExitCodes.NotFound, (await Dmuc(Avalon, "room", "show", room)).ExitCode);
        // killrc's replica of the room outlives it, empty: neither listed nor shown there.
        await WaitUntilAsync(async () => (await Dmuc(Killrc, "room", "show", room)).ExitCode == ExitCodes.NotFound, "killrc to forget the room");
        Assert.DoesNotContain((await Dmuc(Killrc, "rooms", "list", "--json")).Json<RoomsView>().Rooms, listed => listed.Room == room);
    }

    [Fact]
    public async Task Netsplit_cut_splits_the_link_in_room_show_and_cluster_show_until_heal()
    {
        try
        {
            var cut = await Dmuc(Avalon, "netsplit", "cut", Avalon, Killrc);
            Assert.Equal(ExitCodes.Ok, cut.ExitCode);
            Assert.Contains(Killrc, cut.Output);
            Assert.Contains("Cut:", cut.Output);

            await WaitUntilAsync(async () => LinkTo(Killrc, await ShowWallopsAsync()).State == "Split", "room show to report killrc split");
            // Alice goes away: the primary withholds killrc's copy of that presence (the netjoin's resync replaces it).
            await fixture.Alice.Client.SendAsync(new XElement(XmppNamespaces.Client + "presence", new XAttribute("to", fixture.Alice.OccupantJid),
                new XElement(XmppNamespaces.Client + "show", "away")));
            await WaitUntilAsync(async () => LinkTo(Killrc, await ShowWallopsAsync()).BatchesWithheld > 0, "a batch withheld from killrc");
            var during = await ShowWallopsAsync();
            Assert.NotNull(LinkTo(Killrc, during).SplitSince);
            Assert.Equal("Linked", LinkTo(Vesa, during).State);
            // The split replica's users stay in the room's roster: the primary does not know they are gone.
            Assert.Equal(["Wumpus"], NicksOn(during, Killrc));
            Assert.Contains("Split", (await Dmuc(Avalon, "room", "show", Wallops)).Output);
            await WaitUntilAsync(async () => !MemberOn(Killrc, await ClusterAsync(Avalon)).Reachable, "avalon to see killrc unreachable");
            Assert.True(MemberOn(Vesa, await ClusterAsync(Vesa)).Reachable);

            // Heal through the other end of the cut.
            var heal = (await Dmuc(Killrc, "netsplit", "heal", "--json")).Json<NetsplitHealDone>();
            Assert.All(heal.Nodes, node => Assert.Equal(NodeHealOutcome.Healed, node.Outcome));
            Assert.Equal(Killrc, heal.Nodes[0].Host);
            Assert.Equal([Avalon], heal.Nodes[0].HealedLinksTo);
            Assert.Equal([Killrc], heal.Nodes.Single(node => node.Host == Avalon).HealedLinksTo);

            await WaitUntilAsync(async () => LinkTo(Killrc, await ShowWallopsAsync()).State == "Linked", "room show to report killrc linked again");
            await WaitUntilAsync(async () => (await ClusterAsync(Avalon)).Members.All(member => member.Reachable), "every member reachable again");
            Assert.Contains("Linked", (await Dmuc(Avalon, "room", "show", Wallops)).Output);
        }
        finally
        {
            await CliRun.InvokeAsync("netsplit", "heal", "--node", Topology.ManagementUrl(Vesa), "--token", Token);
        }
    }

    [Fact]
    public async Task Netsplit_refuses_unknown_hosts_and_a_host_cut_from_itself()
    {
        var unknown = await Dmuc(Vesa, "netsplit", "cut", Avalon, "nowhere.example");
        Assert.Equal(ExitCodes.NotFound, unknown.ExitCode);
        Assert.Contains("no Dmuc node serves nowhere.example", unknown.Error);
        Assert.Contains(Killrc, unknown.Error);

        var itself = await Dmuc(Vesa, "netsplit", "cut", Vesa, Vesa);
        Assert.Equal(ExitCodes.Failed, itself.ExitCode);
        Assert.Contains("cannot be cut from itself", itself.Error);

        var nothingCut = await Dmuc(Vesa, "netsplit", "heal");
        Assert.Equal(ExitCodes.Ok, nothingCut.ExitCode);
        Assert.Equal(Hosts.Count, nothingCut.Output.Split('\n').Count(line => line.Contains("healed")));
    }

    private async Task<RoomDetails> ShowWallopsAsync() => (await Dmuc(Avalon, "room", "show", Wallops, "--json")).Json<RoomDetails>();

    private async Task<ClusterView> ClusterAsync(string host) => (await Dmuc(host, "cluster", "show", "--json")).Json<ClusterView>();

    private static ReplicaLinkView LinkTo(string host, RoomDetails room) => room.ReplicaLinks.Single(link => link.Host == host);

    private static ClusterMemberView MemberOn(string host, ClusterView cluster) => cluster.Members.Single(member => member.HostDomain == host);

    private static IEnumerable<string> NicksOn(RoomDetails room, string host) =>
        room.OccupantsByHost.Single(occupants => occupants.Host == host).Occupants.Select(occupant => occupant.Nick);
}
