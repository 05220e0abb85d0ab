using System.Diagnostics;
using Dmuc.Cli;
using Dmuc.Integration.Tests.Topology;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Management.Contracts;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Topology.KillUnderTraffic;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// deploy/local/up.sh --failover with users on the primary's own host, avalon.irc: its Prosody takes one component connection,
/// so only the older of its two primary-capable nodes holds the stream, and the rooms sharding puts on the other reach
/// avalon's users through the own-host relay. Rooms on both nodes: own-host users hear and are heard, the management API of
/// either node shows and kicks in a room on the other; then the node holding the stream is killed (SIGKILL) under traffic,
/// the other takes the stream over, and both rooms keep serving everyone.
/// </summary>
[Collection(LocalTopologyCollection.Name)]
public sealed class OwnHostRelayTopologyTests(ITestOutputHelper output)
{
    private const string Avalon = "avalon.irc";
    private const string Killrc = "killrc.oulubox.irc";

    [Fact]
    [Trait("Category", "Topology")]
    public async Task Rooms_on_the_node_without_the_hosts_stream_serve_its_users_and_keep_serving_when_the_stream_holder_is_killed()
    {
        await using var topology = await LocalTopology.UpAsync(arguments: "--failover");
        var (streamHolder, other) = (topology.PrimaryNodes[0], topology.PrimaryNodes[1]);
        var rooms = await OneRoomOnEachNodeAsync(topology);
        await using var leave = Infrastructure.AsyncDisposable.Create(async () =>
        {
            foreach (var chatter in rooms.Values.SelectMany(room => room)) await chatter.Participant.DisposeAsync();
        });
        var holders = new Dictionary<string, DmucNodeProcess>();
        foreach (var (room, chatters) in rooms)
        {
            holders[room] = await topology.NodeHoldingAsync(topology.PrimaryNodes, room);
            output.WriteLine($"{room} lives on {holders[room].Name}: {string.Join(", ", chatters.Select(c => c.Participant.Nick))}");
        }

        // The management API of either node reaches the room on the other: show, and kick one of avalon's users there (told through the relay).
        var roomOnOther = holders.Single(held => held.Value == other).Key;
        var shown = await AskAsync(streamHolder, client => client.GetAsync<RoomDetails>(ManagementApi.Room(roomOnOther), CancellationToken.None));
        Assert.Equal(other.ClusterAddress, shown.Node);
        Assert.Equal(3, shown.OccupantCount);
        Assert.Equal(["alice@avalon.irc", "bob@avalon.irc"], shown.OccupantsByHost.Single(host => host.Host == Avalon).Occupants.Select(o => o.RealJid!.Split('/')[0]).Order());
        var kicked = await Chatter.EnterAsync(topology, Avalon, "admin", "Kickee", room: roomOnOther);
        await using (kicked.Participant)
        {
            await AskAsync(streamHolder, client => client.PostAsync<RoomActionDone>(ManagementApi.RoomKick(roomOnOther), new KickRequest("Kickee", "relay test"), CancellationToken.None));
            await kicked.Participant.WaitForAsync(stanza => stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "unavailable"
                && stanza.ToString().Contains("code=\"307\"", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        }

        var everyone = rooms.Values.SelectMany(room => room).ToList();
        var senders = everyone.Where(chatter => chatter.Participant.Nick.StartsWith("Alice", StringComparison.Ordinal) || chatter.Participant.Nick.StartsWith("Argl", StringComparison.Ordinal)).ToList();
        var listeners = everyone.Where(chatter => chatter.Participant.Nick.StartsWith("Bob", StringComparison.Ordinal)).ToList();
        var clock = Stopwatch.StartNew();
        var traffic = senders.Select(sender => sender.RunAsync(clock, StopSendingAt, StopSendingAt)).ToList();
        await Task.Delay(KillAt);
        var sentBeforeTheKill = senders.ToDictionary(sender => sender, sender => sender.Sent.Count);
        // Avalon's users hand their messages to the stream of the node being killed: XEP-0114 has no acknowledgement, so a
        // message the node took and died with has no outcome (docs/protocol/netjoin.md §7).
        foreach (var sender in senders.Where(sender => sender.Host == Avalon)) sender.MayBeLostBetween(clock.Elapsed - Chatter.SendEvery, clock.Elapsed + TimeSpan.FromSeconds(1));
        // Both the logs' timeline and the first deliveries count from just before crash.sh (its SIGKILL comes a little later).
        var killedAt = DateTimeOffset.UtcNow;
        var killing = clock.Elapsed;
        await topology.CrashAsync(streamHolder.Name);

        // Bob, on avalon, hears in both rooms something said after the kill: only the other node's stream can have brought it.
        var firstDeliveries = new List<(TimeSpan, string)>();
        foreach (var listener in listeners)
        {
            var roomSenders = senders.Where(sender => sender.Participant.Room == listener.Participant.Room).ToList();
            while (!listener.TestMessages().Any(body => roomSenders.Any(sender => body.StartsWith(sender.Participant.Nick + " ", StringComparison.Ordinal)
                                                                                   && Chatter.NumberOf(body) > sentBeforeTheKill[sender] + 1)))
            {
                Assert.True(clock.Elapsed - killing < FirstDeliveryWithin, $"nothing said after the kill reached {listener.Participant.Nick} in {listener.Participant.Room} within {FirstDeliveryWithin}");
                await listener.Participant.CatchUpAsync();
                await Task.Delay(100);
            }
            output.WriteLine($"kill to the first delivery to {listener.Participant.Nick} in {listener.Participant.Room}: {(clock.Elapsed - killing).TotalSeconds:F1} s");
            firstDeliveries.Add((clock.Elapsed - killing, $"{listener.Participant.Nick} in {listener.Participant.Room}"));
        }
        output.WriteLine(FailoverTimeline.Of(topology.RunDirectory, killedAt, firstDeliveries.ToArray()));
        await Task.WhenAll(traffic);

        foreach (var room in rooms.Values)
        {
            var roomSenders = room.Where(senders.Contains).ToList();
            await Chatter.SettleAsync(roomSenders, room, SettleWithin);
            output.WriteLine(Chatter.Report(roomSenders, room));
            var echoed = Chatter.Echoed(roomSenders);
            foreach (var sender in roomSenders)
            {
                Assert.All(sender.Sent.Except(sender.InFlightAtTheCrash()), sent => Assert.True(sender.WasEchoed(sent) != sender.WasRefused(sent), $"{sent}: echoed and refused, or neither"));
                Assert.Contains(sender.Sent.Skip(sentBeforeTheKill[sender] + 1), sender.WasEchoed);
            }
            foreach (var chatter in room)
            {
                // The room recovered on the other node may resend its own host's users what it had sent (netjoin.md §5).
                Assert.All(echoed, body => Assert.Equal(1, chatter.CopiesWithoutResends(body)));
                Assert.DoesNotContain(chatter.Participant.Seen, stanza => stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "unavailable"
                                                                         && (string?)stanza.Attribute("from") != $"{chatter.Participant.Room}/Kickee");
            }
        }
        foreach (var room in rooms.Keys) Assert.Equal(other, await topology.NodeHoldingAsync([other], room));
    }

    /// <summary>
    /// Alice creates rooms until sharding has put one on each of avalon's two nodes, then Bob (avalon) and Argl (killrc) enter
    /// those two. The first room that lands on a node that has one already is destroyed through the other node's management API.
    /// </summary>
    private async Task<Dictionary<string, List<Chatter>>> OneRoomOnEachNodeAsync(LocalTopology topology)
    {
        var rooms = new Dictionary<string, List<Chatter>>();
        var byNode = new Dictionary<DmucNodeProcess, string>();
        string? destroyed = null;
        for (var index = 0; byNode.Count < 2 || destroyed is null; index++)
        {
            Assert.True(index < 20, "sharding put 20 rooms on one node");
            var room = $"relay-{index}@{topology.Description.MucDomain}";
            var alice = await Chatter.EnterAsync(topology, Avalon, "alice", $"Alice{index}", creator: true, room: room);
            var node = await topology.NodeHoldingAsync(topology.PrimaryNodes, room);
            if (byNode.TryAdd(node, room))
            {
                rooms[room] = [alice];
                continue;
            }
            await alice.Participant.DisposeAsync();
            if (destroyed is not null) continue;
            destroyed = room;
            var asked = topology.PrimaryNodes.Single(primary => primary != node);
            var done = await AskAsync(asked, client => client.PostAsync<RoomActionDone>(ManagementApi.RoomDestroy(room), null, CancellationToken.None));
            Assert.Equal("destroy", done.Action);
            output.WriteLine($"{room} on {node.Name} destroyed through {asked.Name}");
        }
        var listed = await AskAsync(topology.PrimaryNodes[0], client => client.GetAsync<RoomsView>(ManagementApi.RoomsPage(after: null, ManagementApi.MaxRoomsPerPage), CancellationToken.None));
        Assert.DoesNotContain(listed.Rooms, listing => listing.Room == destroyed);
        foreach (var (room, chatters) in rooms)
        {
            var index = room["relay-".Length..room.IndexOf('@')];
            chatters.Add(await Chatter.EnterAsync(topology, Avalon, "bob", $"Bob{index}", room: room));
            chatters.Add(await Chatter.EnterAsync(topology, Killrc, "argl", $"Argl{index}", room: room));
            await RoomParticipant.SeeEachOtherAsync(chatters.Select(chatter => chatter.Participant).ToList());
        }
        return rooms;
    }

    private static async Task<T> AskAsync<T>(DmucNodeProcess node, Func<ManagementClient, Task<T>> ask)
    {
        using var client = new ManagementClient(new Uri(node.ManagementAddress!), token: null);
        return await ask(client);
    }
}
