using System.Diagnostics;
using Dmuc.Integration.Tests.Topology;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// The primary's node killed (SIGKILL) and restarted under traffic from every host, on deploy/local/up.sh's topology
/// with its production timings (docs/protocol/netjoin.md §5): the restarted process rejoins its cluster, and every
/// message gets exactly one outcome.
/// </summary>
[Collection(LocalTopologyCollection.Name)]
public sealed class PrimaryCrashTests(ITestOutputHelper output)
{
    private static readonly TimeSpan KillAt = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RestartAt = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StopSendingAt = TimeSpan.FromSeconds(30);
    /// <summary>Rejoin (the cluster downs the old incarnation), the split's detection by keepalive and the netjoins, on a busy machine.</summary>
    private static readonly TimeSpan SettleWithin = TimeSpan.FromSeconds(120);
    /// <summary>
    /// How long before its node dies a message of the primary's own host may still be on its way into the node, or in its
    /// journal's unacknowledged write: Prosody handed it over, and nothing in XEP-0114 acknowledges it (netjoin.md §7).
    /// </summary>
    private static readonly TimeSpan InFlightAtTheCrash = TimeSpan.FromSeconds(2);

    [Fact]
    [Trait("Category", "Topology")]
    public async Task After_the_primary_is_killed_and_restarted_under_traffic_every_message_has_one_outcome_and_every_host_the_same_history()
    {
        await using var topology = await LocalTopology.UpAsync();
        var room = topology.Description.Room;
        var alice = await Chatter.EnterAsync(topology, "avalon.irc", "alice", "Alice", creator: true);
        var argl = await Chatter.EnterAsync(topology, "killrc.oulubox.irc", "argl", "Wumpus");
        var squit = await Chatter.EnterAsync(topology, "eris.dclxvii.irc", "squit", "WiZ");
        var rubenro = await Chatter.EnterAsync(topology, "vesa.yeggmaex.irc", "rubenro", "BigCheese");
        Chatter[] senders = [alice, argl, squit];
        Chatter[] everyone = [.. senders, rubenro];
        await using var leave = Infrastructure.AsyncDisposable.Create(async () =>
        {
            foreach (var chatter in everyone) await chatter.Participant.DisposeAsync();
        });
        await RoomParticipant.SeeEachOtherAsync(everyone.Select(chatter => chatter.Participant).ToList());

        var clock = Stopwatch.StartNew();
        var traffic = everyone.Select(chatter => chatter.RunAsync(clock, senders.Contains(chatter) ? StopSendingAt : TimeSpan.Zero, StopSendingAt)).ToList();
        await Until(clock, KillAt);
        var killing = clock.Elapsed;
        var avalon = topology.Description.Host("avalon.irc").Node.Name;
        await topology.CrashAsync(avalon);
        alice.MayBeLostBetween(killing - InFlightAtTheCrash, clock.Elapsed);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: killed avalon.irc's node");
        await Until(clock, RestartAt);
        await topology.RestartAsync(avalon);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: started avalon.irc's node again");
        await Task.WhenAll(traffic);

        // Every message ends up echoed or refused at its sender, and every echoed one at every occupant.
        await Chatter.SettleAsync(senders, everyone, SettleWithin);
        output.WriteLine(Chatter.Report(senders, everyone));

        var echoed = Chatter.Echoed(senders);
        foreach (var sender in senders)
        {
            Assert.All(sender.Sent.Except(sender.InFlightAtTheCrash()), sent => Assert.True(sender.WasEchoed(sent) != sender.WasRefused(sent),
                $"{sent}: echoed and refused, or neither"));
            Assert.Contains(sender.Sent, sender.WasEchoed);
        }
        foreach (var chatter in everyone)
        {
            // The restarted room resends the users of its own host only what their server says it did not hand them
            // (mod_dmuc_delivered, docs/protocol/delivered.md), so every copy counts, resent ones too.
            var received = chatter.TestMessages();
            Assert.All(echoed, body => Assert.Equal(1, received.Count(copy => copy == body)));
            Assert.Empty(received.Except(echoed));
            // Each sender's messages arrive at the other hosts in the order said. (The sender's own host saw what it served
            // during the split at once, before the outcome of its forwards that the crash left unacknowledged: netjoin.md §7.)
            foreach (var sender in senders.Where(sender => sender.Host != chatter.Host))
                AssertInTheOrderSaid(received, sender, $"{chatter.Participant.Nick}'s messages");
            // Nobody was evicted or seen to leave.
            Assert.DoesNotContain(chatter.Participant.Seen, stanza => stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "unavailable");
        }
        // The room's history has each echoed message once, and every host gets the same history from it.
        var archives = new List<List<string>>();
        foreach (var chatter in everyone) archives.Add(await ArchivedTestMessagesAsync(chatter.Participant.Client, room));
        Assert.Equal(echoed.Order(), archives[0].Order());
        foreach (var sender in senders) AssertInTheOrderSaid(archives[0], sender, "the archive");
        Assert.All(archives, archive => Assert.Equal(archives[0], archive));
    }

    private static void AssertInTheOrderSaid(IEnumerable<string> bodies, Chatter sender, string where)
    {
        var said = bodies.Where(body => body.StartsWith(sender.Participant.Nick + " ", StringComparison.Ordinal)).Select(Chatter.NumberOf).ToList();
        Assert.True(said.Order().SequenceEqual(said), $"{where} have {sender.Participant.Nick}'s messages in the order {string.Join(", ", said)}");
    }

    private static async Task Until(Stopwatch clock, TimeSpan at)
    {
        if (at > clock.Elapsed) await Task.Delay(at - clock.Elapsed);
    }

    /// <summary>Every test message in the room's archive (XEP-0313), page after page, in the archive's order.</summary>
    private static async Task<List<string>> ArchivedTestMessagesAsync(XmppTestClient client, string room)
    {
        var bodies = new List<string>();
        string? after = null;
        for (var page = 1; ; page++)
        {
            var result = await client.QueryArchiveAsync(room, $"{client.BareJid}-archive-{page}", ArchiveClientSteps.Page(max: 100, after: after));
            bodies.AddRange(result.Bodies.Where(Chatter.IsTestMessage));
            if (result.Complete || result.Ids.Count == 0) return bodies;
            after = result.Ids[^1];
        }
    }
}
