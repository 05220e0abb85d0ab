using System.Diagnostics;
using Dmuc.Integration.Tests.Topology;
using Dmuc.Integration.Tests.Xmpp;
using Dmuc.Management.Contracts;
using Xunit.Abstractions;

namespace Dmuc.Cli.Tests;

/// <summary>
/// `dmuc node drain` on deploy/local/up.sh --failover (real Prosody, avalon.irc's two primary-capable nodes, PostgreSQL): the
/// node holding avalon's component stream leaves, its room moves to the other node, which takes the stream over; the users of
/// both rooms (one on avalon, one on a replica host) stay in them and go on talking. What cannot be drained is refused.
/// </summary>
[Collection(CliTopologies.Collection)]
public sealed class NodeDrainCliTests(ITestOutputHelper log)
{
    private static readonly TimeSpan AfterTheDrainWithin = TimeSpan.FromSeconds(60);

    private async Task<CliRun> Dmuc(DmucNodeProcess asked, params string[] args)
    {
        var run = await CliRun.InvokeAsync([.. args, "--node", asked.ManagementAddress!]);
        log.WriteLine($"$ dmuc {string.Join(' ', args)}   # through {asked.Name}\n{run.Output}{run.Error}(exit {run.ExitCode})\n");
        return run;
    }

    [Fact]
    [Trait("Category", "Topology")]
    public async Task Drain_moves_the_rooms_of_the_node_holding_the_hosts_stream_to_the_other_and_their_users_stay_and_talk()
    {
        await using var topology = await LocalTopology.UpAsync(arguments: "--failover");
        var (drained, survivor) = (topology.PrimaryNodes[0], topology.PrimaryNodes[1]);
        var pairs = new List<(Chatter Alice, Chatter Argl)>();
        await using var leave = Integration.Tests.Infrastructure.AsyncDisposable.Create(async () =>
        {
            foreach (var chatter in pairs.SelectMany(pair => new[] { pair.Alice, pair.Argl })) await chatter.Participant.DisposeAsync();
        });
        // A room on each node: the one on the drained node moves, the other stays, and avalon's stream moves under both.
        var rooms = new Dictionary<DmucNodeProcess, string>();
        for (var index = 0; rooms.Count < 2; index++)
        {
            Assert.True(index < 20, "sharding put 20 rooms on one node");
            var room = $"drain-{index}@{topology.Description.MucDomain}";
            var alice = await Chatter.EnterAsync(topology, "avalon.irc", "alice", "Alice", creator: true, room: room);
            if (!rooms.TryAdd(await topology.NodeHoldingAsync(topology.PrimaryNodes, room), room))
            {
                await alice.Participant.DisposeAsync();
                continue;
            }
            var argl = await Chatter.EnterAsync(topology, "killrc.oulubox.irc", "argl", "Wumpus", room: room);
            await RoomParticipant.SeeEachOtherAsync([alice.Participant, argl.Participant]);
            pairs.Add((alice, argl));
        }
        var replica = topology.Description.Host("killrc.oulubox.irc").Node;
        // Without a stream of its own (avalon's is the other node's), the survivor's rooms are served: it says it is ready.
        using (var http = new HttpClient { BaseAddress = new Uri(survivor.ManagementAddress!) })
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(ManagementApi.Ready)).StatusCode);

        Assert.Equal(ExitCodes.Failed, (await Dmuc(survivor, "node", "drain", replica.ClusterAddress)).ExitCode);
        Assert.Equal(ExitCodes.Failed, (await Dmuc(drained, "node", "drain", drained.ClusterAddress)).ExitCode);
        Assert.Equal(ExitCodes.NotFound, (await Dmuc(survivor, "node", "drain", "akka.tcp://dmuc@127.0.0.1:1")).ExitCode);

        var done = (await Dmuc(survivor, "node", "drain", drained.ClusterAddress, "--json")).Json<NodeDrained>();
        Assert.Equal(drained.ClusterAddress, done.Node);
        Assert.Equal([survivor.ClusterAddress], done.RoomsByNode.Select(placed => placed.Node));
        foreach (var room in rooms.Values) Assert.Equal(survivor, await topology.NodeHoldingAsync([survivor], room));
        var cluster = (await Dmuc(survivor, "cluster", "show", "--json")).Json<ClusterView>();
        Assert.DoesNotContain(cluster.Members, member => member.Address == drained.ClusterAddress);
        // Out of the cluster, the drained node's process stops (ready for its maintenance).
        var leaving = Stopwatch.StartNew();
        while (LocalTopology.IsRunning(drained.Pid))
        {
            Assert.True(leaving.Elapsed < TimeSpan.FromSeconds(30), $"{drained.Name} still runs 30 s after it was drained");
            await Task.Delay(200);
        }

        foreach (var (alice, argl) in pairs) await HearEachOtherAsync(alice, argl);
    }

    /// <summary>Both still in their room: each hears the other (Alice's stanzas bounce while avalon's stream moves).</summary>
    private static async Task HearEachOtherAsync(Chatter alice, Chatter argl)
    {
        for (var attempt = 1; !argl.TestMessages().Any(Chatter.IsTestMessage); attempt++)
        {
            Assert.True(attempt * 2 < AfterTheDrainWithin.TotalSeconds, $"nothing Alice said after the drain reached Wumpus in {alice.Participant.Room}");
            var body = $"Alice says {attempt}";
            alice.Sent.Add(body);
            await alice.Participant.SendGroupchatAsync(body, id: body.Replace(' ', '-'));
            await Task.Delay(TimeSpan.FromSeconds(2));
            await argl.Participant.CatchUpAsync();
        }
        await argl.Participant.SendGroupchatAsync("Wumpus says 1");
        await alice.Participant.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, "Wumpus says 1"), AfterTheDrainWithin);
        foreach (var chatter in new[] { alice, argl })
            Assert.DoesNotContain(chatter.Participant.Seen, stanza => stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "unavailable");
        await alice.Participant.CatchUpAsync();
        Assert.All(alice.Sent, sent => Assert.True(alice.WasEchoed(sent) != alice.WasRefused(sent), $"{sent}: echoed and refused, or neither"));
    }
}
