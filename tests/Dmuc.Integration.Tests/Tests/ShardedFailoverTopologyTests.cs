using System.Diagnostics;
using Dmuc.Integration.Tests.Topology;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Topology.KillUnderTraffic;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// deploy/local/up.sh --failover: the rooms of channel.avalon.irc sharded over two primary-capable nodes with the journal in
/// PostgreSQL, users on the replica hosts. The node holding the busy room is killed (SIGKILL) under traffic through real
/// Prosody: the room delivers again from the other node, every message gets one outcome, and nobody leaves the room.
/// </summary>
[Collection(LocalTopologyCollection.Name)]
public sealed class ShardedFailoverTopologyTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Topology")]
    public async Task The_room_of_a_killed_primary_delivers_again_from_the_other_and_its_replica_users_stay()
    {
        await using var topology = await LocalTopology.UpAsync(runDirectory: Environment.GetEnvironmentVariable("DMUC_KEEP_RUN_DIR"), arguments: "--failover");
        var room = topology.Description.Room;
        var argl = await Chatter.EnterAsync(topology, "killrc.oulubox.irc", "argl", "Wumpus", creator: true);
        var valdis = await Chatter.EnterAsync(topology, "killrc.oulubox.irc", "valdis", "Valdis");
        var squit = await Chatter.EnterAsync(topology, "eris.dclxvii.irc", "squit", "WiZ");
        Chatter[] senders = [argl, squit];
        Chatter[] everyone = [argl, valdis, squit];
        await using var leave = Infrastructure.AsyncDisposable.Create(async () =>
        {
            foreach (var chatter in everyone) await chatter.Participant.DisposeAsync();
        });
        await RoomParticipant.SeeEachOtherAsync(everyone.Select(chatter => chatter.Participant).ToList());

        DmucNodeProcess[] primaries = [topology.Description.Host("avalon.irc").Node, topology.Description.FailoverNode!];
        var holder = await topology.NodeHoldingAsync(primaries, room);
        var survivor = primaries.Single(node => node != holder);
        output.WriteLine($"{room} lives on {holder.Name}");

        var clock = Stopwatch.StartNew();
        var traffic = senders.Select(sender => sender.RunAsync(clock, StopSendingAt, StopSendingAt)).ToList();
        await Task.Delay(KillAt);
        var sentBeforeTheKill = senders.ToDictionary(sender => sender.Participant.Nick, sender => sender.Sent.Count);
        // Both the logs' timeline and the first delivery count from just before crash.sh (its SIGKILL comes a little later).
        var killedAt = DateTimeOffset.UtcNow;
        var killing = clock.Elapsed;
        await topology.CrashAsync(holder.Name);
        output.WriteLine($"crash.sh took {(clock.Elapsed - killing).TotalSeconds:F1} s");

        // The first message said after the kill that reaches a listener on a replica host (one more for a send racing the count).
        while (!valdis.TestMessages().Any(body => Chatter.NumberOf(body) > sentBeforeTheKill[body[..body.IndexOf(' ')]] + 1))
        {
            Assert.True(clock.Elapsed - killing < FirstDeliveryWithin, $"nothing said after the kill reached Valdis within {FirstDeliveryWithin}");
            await valdis.Participant.CatchUpAsync();
            await Task.Delay(100);
        }
        var firstDelivery = clock.Elapsed - killing;
        output.WriteLine($"kill to the first delivery of a message said after it: {firstDelivery.TotalSeconds:F1} s");
        output.WriteLine(FailoverTimeline.Of(topology.RunDirectory, killedAt, (firstDelivery, valdis.Participant.Nick)));
        await Task.WhenAll(traffic);

        await Chatter.SettleAsync(senders, everyone, SettleWithin);
        output.WriteLine(Chatter.Report(senders, everyone));

        var echoed = Chatter.Echoed(senders);
        foreach (var sender in senders)
        {
            Assert.All(sender.Sent, sent => Assert.True(sender.WasEchoed(sent) != sender.WasRefused(sent), $"{sent}: echoed and refused, or neither"));
            Assert.Contains(sender.Sent.Skip(sentBeforeTheKill[sender.Participant.Nick] + 1), sender.WasEchoed);
        }
        foreach (var chatter in everyone)
        {
            // The room recovered on the other node may resend its own host's users what it had sent (netjoin.md §5).
            Assert.All(echoed, body => Assert.Equal(1, chatter.CopiesWithoutResends(body)));
            Assert.DoesNotContain(chatter.Participant.Seen, stanza => stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "unavailable");
        }
        Assert.Equal(survivor, await topology.NodeHoldingAsync([survivor], room));
    }
}
