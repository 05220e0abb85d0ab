using Dmuc.Integration.Tests.Topology;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using Xunit.Abstractions;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// A replica node killed (SIGKILL) and started again while its users stay connected to their Prosody, on deploy/local/up.sh's
/// topology with its production timings (docs/protocol/netjoin.md §5, "Who left while the node was down").
/// </summary>
[Collection(LocalTopologyCollection.Name)]
public sealed class ReplicaNodeCrashTests(ITestOutputHelper output)
{
    /// <summary>The restart, the rejoin, the netjoin and the relearnt users' checks, on a busy machine.</summary>
    private static readonly TimeSpan SeenWithin = TimeSpan.FromSeconds(90);

    /// <summary>
    /// killrc's node dies; while it is down BigCheese (vesa) leaves. Its next life knows nothing of what Wumpus saw, so before
    /// the room remembered recent departures Wumpus kept BigCheese in his roster for good.
    /// </summary>
    [Fact]
    [Trait("Category", "Topology")]
    public async Task Users_of_a_restarted_replica_node_see_who_left_while_it_was_down_and_stay_in_the_room()
    {
        await using var topology = await LocalTopology.UpAsync();
        var alice = await Chatter.EnterAsync(topology, "avalon.irc", "alice", "Alice", creator: true);
        var wumpus = await Chatter.EnterAsync(topology, "killrc.oulubox.irc", "argl", "Wumpus");
        var bigCheese = await Chatter.EnterAsync(topology, "vesa.yeggmaex.irc", "rubenro", "BigCheese");
        RoomParticipant[] everyone = [alice.Participant, wumpus.Participant, bigCheese.Participant];
        await using var leave = Infrastructure.AsyncDisposable.Create(async () =>
        {
            foreach (var participant in everyone) await participant.DisposeAsync();
        });
        await RoomParticipant.SeeEachOtherAsync(everyone);

        var killrc = topology.Description.Host("killrc.oulubox.irc").Node.Name;
        await topology.CrashAsync(killrc);
        await bigCheese.Participant.LeaveAsync();
        await alice.Participant.WaitForAsync(RoomParticipant.PresenceOf(bigCheese.Participant.OccupantJid, available: false), TimeSpan.FromSeconds(10));
        await topology.RestartAsync(killrc);
        var restartedAt = DateTime.UtcNow;

        await wumpus.Participant.WaitForAsync(RoomParticipant.PresenceOf(bigCheese.Participant.OccupantJid, available: false), SeenWithin);
        output.WriteLine($"Wumpus saw BigCheese leave {(DateTime.UtcNow - restartedAt).TotalSeconds:0.0} s after his node's restart");
        Assert.Equal(["Alice", "Wumpus"], wumpus.Participant.Roster());
        // Wumpus is still in the room: what Alice says reaches him, and nobody saw him leave.
        await alice.Participant.SendGroupchatAsync("still there?", id: "still-there");
        await wumpus.Participant.WaitForAsync(stanza => MucClientSteps.IsGroupchatBody(stanza, "still there?"), TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(alice.Participant.Seen, RoomParticipant.PresenceOf(wumpus.Participant.OccupantJid, available: false).Invoke);
    }
}
