using System.Net;
using System.Net.Http.Json;
using System.Xml.Linq;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Management.Contracts;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Cli.Tests;

/// <summary>The dmuc commands, run in-process against a node behind a real Prosody.</summary>
[Collection(CliTopologies.Collection)]
public sealed class CliCommandTests(ManagedNode node, ITestOutputHelper log) : IClassFixture<ManagedNode>
{
    private async Task<CliRun> Dmuc(params string[] args)
    {
        var run = await CliRun.InvokeAsync([.. args, "--node", node.Url, "--token", ManagedNode.Token]);
        log.WriteLine($"$ dmuc {string.Join(' ', args)}\n{run.Output}{run.Error}(exit {run.ExitCode})\n");
        return run;
    }

    [Fact]
    public async Task Cluster_show_lists_this_node_as_an_Up_primary_serving_its_host()
    {
        var table = await Dmuc("cluster", "show");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains(node.ClusterAddress, table.Output);
        Assert.Contains("Up", table.Output);
        // The test Prosody loads mod_dmuc_multicast on the node's host.
        Assert.Contains($"broadcasts to {ManagedNode.HostDomain}: one multicast stanza through {ManagedNode.HostDomain} (Dmuc's compact recipient list)", table.Output);

        var cluster = (await Dmuc("cluster", "show", "--json")).Json<ClusterView>();
        Assert.Equal(new DeliveryView(ManagedNode.HostDomain, ManagedNode.HostDomain, CompactRecipients: true), cluster.Delivery);
        var self = Assert.Single(cluster.Members);
        Assert.Equal(node.ClusterAddress, self.Address);
        Assert.Equal(node.ClusterAddress, cluster.Self);
        Assert.True(self.IsSelf);
        Assert.True(self.IsPrimary);
        Assert.True(self.Reachable);
        Assert.Equal("Up", self.Status);
        Assert.Equal(ManagedNode.HostDomain, self.HostDomain);
    }

    [Fact]
    public async Task Rooms_list_shows_the_room_with_its_occupant_count()
    {
        var table = await Dmuc("rooms", "list");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains(ManagedNode.Verona, table.Output);

        var rooms = (await Dmuc("rooms", "list", "--json")).Json<RoomsView>();
        Assert.Equal(NodeRoleView.Primary, rooms.NodeRole);
        var verona = Assert.Single(rooms.Rooms, room => room.Room == ManagedNode.Verona);
        Assert.Equal(2, verona.Occupants);
        Assert.Empty(verona.ReplicaHosts);
    }

    /// <summary>
    /// The list comes in pages in JID order: a limit shows one page and the cursor for the next, and following the cursors
    /// gives what the whole list gives. Each room says which node it lives on, and whether it is in memory.
    /// </summary>
    [Fact]
    public async Task Rooms_list_pages_in_jid_order_and_shows_the_node_each_room_lives_on()
    {
        foreach (var room in new[] { "page-a@conference.localhost", "page-b@conference.localhost", "page-c@conference.localhost" })
            await ManagedNode.OpenRoomAsync(room, node.Romeo, "Romeo");

        var all = (await Dmuc("rooms", "list", "--json")).Json<RoomsView>();
        Assert.Equal(all.Rooms.Select(room => room.Room).Order(StringComparer.Ordinal), all.Rooms.Select(room => room.Room));
        Assert.Equal(all.Total, all.Rooms.Count);
        Assert.Null(all.NextAfter);
        Assert.All(all.Rooms, room => Assert.Equal(node.ClusterAddress, room.Node));
        Assert.True(Assert.Single(all.Rooms, room => room.Room == ManagedNode.Verona).Active);

        List<string> paged = [];
        string[] page = ["rooms", "list", "--json", "--limit", "2"];
        while (true)
        {
            var view = (await Dmuc(page)).Json<RoomsView>();
            Assert.InRange(view.Rooms.Count, 1, 2);
            paged.AddRange(view.Rooms.Select(room => room.Room));
            if (view.NextAfter is not { } next) break;
            Assert.Equal(view.Rooms[^1].Room, next);
            page = ["rooms", "list", "--json", "--limit", "2", "--after", next];
        }
        Assert.Equal(all.Rooms.Select(room => room.Room), paged);

        var table = await Dmuc("rooms", "list", "--limit", "1");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains(node.ClusterAddress, table.Output);
        Assert.Contains($"1 of {all.Total} rooms; the next page: --after {all.Rooms[0].Room}", table.Output);
        Assert.Equal(node.ClusterAddress, (await Dmuc("room", "show", ManagedNode.Verona, "--json")).Json<RoomDetails>().Node);
    }

    [Fact]
    public async Task Room_show_groups_the_occupants_by_host_with_their_nick_role_and_affiliation()
    {
        var table = await Dmuc("room", "show", ManagedNode.Verona);
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains("Romeo", table.Output);
        Assert.Contains("Juliet", table.Output);
        Assert.Contains("romeo@localhost/balcony", table.Output);

        // The bare room name is enough on the node's own MUC domain.
        var room = (await Dmuc("room", "show", "verona", "--json")).Json<RoomDetails>();
        Assert.Equal(ManagedNode.Verona, room.Room);
        Assert.Equal(2, room.OccupantCount);
        Assert.Equal(ManagedNode.VeronaMessages.Length, room.HistoryLength);
        Assert.True(room.JournalSequenceNr > 0);
        var host = Assert.Single(room.OccupantsByHost);
        Assert.Equal("localhost", host.Host);
        Assert.Equal(["Juliet", "Romeo"], host.Occupants.Select(o => o.Nick).Order());
        var romeo = host.Occupants.Single(o => o.Nick == "Romeo");
        Assert.Equal(("Moderator", "Owner"), (romeo.Role, romeo.Affiliation));
        Assert.Empty(room.ReplicaLinks);
    }

    [Fact]
    public async Task Room_history_shows_the_last_messages()
    {
        var table = await Dmuc("room", "history", ManagedNode.Verona, "--last", "2");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains("through yonder window breaks?", table.Output);
        Assert.DoesNotContain("But soft!", table.Output);

        var history = (await Dmuc("room", "history", ManagedNode.Verona, "--json")).Json<RoomHistoryView>();
        Assert.Equal(ManagedNode.VeronaMessages, history.Messages.Select(m => m.Body));
        Assert.All(history.Messages, message => Assert.Equal(("Romeo", "romeo@localhost"), (message.Nick, message.Sender)));
    }

    [Fact]
    public async Task Room_kick_removes_the_occupant_who_hears_status_307()
    {
        const string room = "capulet@conference.localhost";
        await ManagedNode.OpenRoomAsync(room, node.Romeo, "Romeo");
        await node.Juliet.JoinRoomAsync(room, "Juliet");

        var kick = await Dmuc("room", "kick", room, "Juliet", "--reason", "Thou art a villain");
        Assert.Equal(ExitCodes.Ok, kick.ExitCode);
        Assert.Contains("Kicked Juliet", kick.Output);
        var kicked = (await node.Juliet.ReceiveUntilAsync(stanza => IsUnavailableFrom(stanza, $"{room}/Juliet")))[^1];
        Assert.True(HasStatus(kicked, 307));
        Assert.Contains("Thou art a villain", kicked.ToString());

        var after = (await Dmuc("room", "show", room, "--json")).Json<RoomDetails>();
        Assert.Equal(["Romeo"], after.OccupantsByHost.SelectMany(host => host.Occupants).Select(o => o.Nick));

        var nobody = await Dmuc("room", "kick", room, "Tybalt");
        Assert.Equal(ExitCodes.NotFound, nobody.ExitCode);
        Assert.Contains("Tybalt", nobody.Error);
    }

    [Fact]
    public async Task Room_destroy_ends_the_room_and_it_is_gone_afterwards()
    {
        const string room = "montague@conference.localhost";
        await ManagedNode.OpenRoomAsync(room, node.Romeo, "Romeo");

        var destroy = await Dmuc("room", "destroy", room);
        Assert.Equal(ExitCodes.Ok, destroy.ExitCode);
        Assert.Contains($"Destroyed {room}", destroy.Output);
        var destroyed = (await node.Romeo.ReceiveUntilAsync(stanza => IsUnavailableFrom(stanza, $"{room}/Romeo")))[^1];
        Assert.NotNull(destroyed.Descendants(MucUser + "destroy").FirstOrDefault());

        Assert.Equal(ExitCodes.NotFound, (await Dmuc("room", "show", room)).ExitCode);
        var rooms = (await Dmuc("rooms", "list", "--json")).Json<RoomsView>();
        Assert.DoesNotContain(rooms.Rooms, listed => listed.Room == room);
    }

    [Fact]
    public async Task An_unknown_room_exits_with_3()
    {
        var run = await Dmuc("room", "show", "nowhere@conference.localhost");
        Assert.Equal(ExitCodes.NotFound, run.ExitCode);
        Assert.Contains("no room nowhere@conference.localhost", run.Error);
        Assert.Equal(ExitCodes.NotFound, (await Dmuc("room", "history", "nowhere")).ExitCode);
        Assert.Equal(ExitCodes.NotFound, (await Dmuc("room", "destroy", "nowhere")).ExitCode);
        // A room of another service is not one of this node's rooms.
        Assert.Equal(ExitCodes.NotFound, (await Dmuc("room", "show", "verona@elsewhere.example")).ExitCode);
    }

    [Fact]
    public async Task A_wrong_or_missing_token_exits_with_4()
    {
        var wrong = await CliRun.InvokeAsync("rooms", "list", "--node", node.Url, "--token", "guess");
        Assert.Equal(ExitCodes.Unauthorized, wrong.ExitCode);
        Assert.Contains("unauthorized", wrong.Error);
        Assert.Equal(ExitCodes.Unauthorized, (await CliRun.InvokeAsync("cluster", "show", "--node", node.Url)).ExitCode);
    }

    [Fact]
    public async Task An_unreachable_node_exits_with_2()
    {
        var nobodyListens = $"http://127.0.0.1:{FreeTcpPorts.Pick(1)[0]}";
        var run = await CliRun.InvokeAsync("cluster", "show", "--node", nobodyListens, "--token", ManagedNode.Token);
        Assert.Equal(ExitCodes.NodeUnreachable, run.ExitCode);
        Assert.Contains("cannot reach", run.Error);
    }

    [Fact]
    public async Task A_node_whose_drills_did_not_answer_in_time_exits_with_2_as_for_a_heal_so_scripts_can_try_again()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var answered = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            using var request = new StreamReader(stream, leaveOpen: true);
            while (!string.IsNullOrEmpty(await request.ReadLineAsync())) { }
            var body = System.Text.Json.JsonSerializer.Serialize(new ErrorResponse("the drills of a and b did not both answer within 5 s"), ManagementApi.Json);
            await stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(
                $"HTTP/1.1 504 Gateway Timeout\r\nContent-Type: application/json\r\nContent-Length: {System.Text.Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}"));
        });

        var run = await CliRun.InvokeAsync("netsplit", "cut", "avalon.irc", "killrc.oulubox.irc", "--node", $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
        await answered;

        Assert.Equal(ExitCodes.NodeUnreachable, run.ExitCode);
        Assert.Contains("did not both answer", run.Error);
    }

    [Fact]
    public async Task Without_a_node_nor_one_at_the_default_address_the_command_says_how_to_name_one()
    {
        var run = await CliRun.InvokeAsync("rooms", "list");
        Assert.Equal(ExitCodes.NodeUnreachable, run.ExitCode);
        Assert.Contains("from the default address", run.Error);
        Assert.Contains("DMUC_NODE", run.Error);
    }

    [Fact]
    public async Task Actors_tree_shows_the_room_directory_and_its_rooms()
    {
        var table = await Dmuc("actors", "tree", "/user", "--depth", "2");
        Assert.Equal(ExitCodes.Ok, table.ExitCode);
        Assert.Contains("rooms", table.Output);

        var tree = (await Dmuc("actors", "tree", "--json")).Json<ActorTreeView>();
        Assert.Equal("/user", tree.Root.Path);
        var rooms = Assert.Single(tree.Root.Children, child => child.Name == "rooms");
        Assert.Contains(rooms.Children, room => room.Path == "/user/rooms/" + Uri.EscapeDataString(ManagedNode.Verona));
        Assert.Contains(tree.Root.Children, child => child.Name == "replicas");

        Assert.Equal(ExitCodes.NotFound, (await Dmuc("actors", "tree", "/user/nothing-here")).ExitCode);
    }

    [Fact]
    public async Task Actors_tree_refuses_a_path_at_an_address_outside_the_cluster_and_walks_one_at_a_member()
    {
        using var http = new HttpClient { BaseAddress = new Uri(node.Url) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ManagedNode.Token);

        var elsewhere = await http.GetAsync(ManagementApi.ActorTree("akka.tcp://x@10.1.2.3:1/user", depth: 1));
        Assert.Equal(HttpStatusCode.BadRequest, elsewhere.StatusCode);
        Assert.Contains("akka.tcp://x@10.1.2.3:1 is not a member of this cluster", await elsewhere.Content.ReadAsStringAsync());

        var self = (await Dmuc("actors", "tree", node.ClusterAddress + "/user", "--json")).Json<ActorTreeView>();
        Assert.Contains(self.Root.Children, child => child.Name == "rooms");
    }

    [Fact]
    public async Task Netsplit_drills_are_refused_on_a_node_without_them()
    {
        foreach (var run in new[] { await Dmuc("netsplit", "heal"), await Dmuc("netsplit", "cut", "localhost", "elsewhere.example") })
        {
            Assert.Equal(ExitCodes.Failed, run.ExitCode);
            Assert.Contains("netsplit drills are off on this node", run.Error);
            Assert.Contains("--allow-netsplit-drills", run.Error);
        }
    }

    [Fact]
    public async Task Health_and_readiness_answer_without_a_token()
    {
        using var http = new HttpClient { BaseAddress = new Uri(node.Url) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(ManagementApi.Health)).StatusCode);
        var ready = await http.GetAsync(ManagementApi.Ready);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var checks = (await ready.Content.ReadFromJsonAsync<HealthView>(ManagementApi.Json))!.Checks;
        Assert.Contains(checks, check => (check.Name, check.Status) == ("component-stream", "Healthy"));
        Assert.Equal(2, checks.Count); // and the cluster's own readiness check
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(ManagementApi.Rooms)).StatusCode);
    }

    private static bool IsUnavailableFrom(XElement stanza, string from) =>
        stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "unavailable" && (string?)stanza.Attribute("from") == from;
}
