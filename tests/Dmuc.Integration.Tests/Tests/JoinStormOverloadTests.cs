using System.Xml.Linq;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Xmpp;
using Xunit;
using Xunit.Abstractions;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// A join storm from the replica hosts of a room, multicast off, every node with a small output budget
/// (<c>Dmuc:MaxQueuedBytes</c>), through three real Prosody hosts: the storm's joins reach the room before any of what they send
/// has piled up, so the room takes them all, and what they send each replica host's users then piles up past four times the budget
/// faster than the servers take it (on this machine; the test does not depend on it). Each join is taken or refused with
/// wait/resource-constraint (and taken when sent again), and every occupant ends up seeing every other one: a server that reads,
/// however slowly, keeps its stream and gets all of it (docs/operations.md#overload).
/// </summary>
public sealed class JoinStormOverloadTests(ITestOutputHelper output)
{
    private const string MucDomain = "channel.avalon.irc";
    private const string Room = $"storm@{MucDomain}";
    private const string Avalon = "avalon.irc";
    private static readonly string[] ReplicaHosts = ["killrc.oulubox.irc", "vesa.yeggmaex.irc"];
    private const int JoinersPerHost = 60;
    private const int Budget = 256 * 1024;
    private static readonly TimeSpan Storm = TimeSpan.FromSeconds(40);
    private static readonly TimeSpan RetryAfter = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task A_join_storm_from_replica_hosts_behind_busy_servers_is_taken_or_refused_and_every_occupant_sees_every_other()
    {
        await using var deployment = await MultiHostEnvironment.StartAsync(MucDomain, Avalon, ReplicaHosts, [$"admin@{Avalon}"],
            nodeSettings: _ => new Dictionary<string, string?>
            {
                ["Dmuc:Multicast:Enabled"] = "false",
                ["Dmuc:MaxStanzaBytes"] = "16384",
                ["Dmuc:MaxQueuedBytes"] = Budget.ToString(),
                ["Dmuc:Limits:OccupantStanzasPerSecond"] = "0",
            });
        await deployment.PlayAsync(async _ =>
        {
            await using var owner = await deployment.ClientEndpointFor(Avalon)!.ConnectAsRoomOwnerAsync($"owner@{Avalon}/desk", Room, "owner");
            var joiners = new List<XmppTestClient>();
            await using var disconnect = AsyncDisposable.Create(async () =>
            {
                foreach (var joiner in joiners) await joiner.DisposeAsync();
            });
            foreach (var host in ReplicaHosts)
                for (var i = 0; i < JoinersPerHost; i++)
                    joiners.Add(await XmppTestClient.ConnectAsync(deployment.ClientEndpointFor(host)!, $"j{i}@{host}/r", "x"));

            var nicks = joiners.Select(Nick).ToList();
            foreach (var joiner in joiners) await joiner.SendAsync(Join(joiner));
            var seen = await Task.WhenAll(joiners.Select(JoinedAsync));

            var refusals = seen.Sum(joined => joined.Refusals);
            output.WriteLine($"{joiners.Count} joins, {refusals} refused with resource-constraint and sent again");
            // Every presence of the storm reached every occupant it was for: each joiner sees every other one that is in.
            var everyone = nicks.Append("owner").ToHashSet();
            Assert.All(seen, joined => Assert.Equal(everyone.Order(StringComparer.Ordinal), joined.Roster(everyone)));
        }, output.WriteLine);
    }

    private static string Nick(XmppTestClient joiner) => joiner.BareJid.Replace('@', '-');

    private static XElement Join(XmppTestClient joiner) =>
        new(XmppNamespaces.Client + "presence", new XAttribute("to", $"{Room}/{Nick(joiner)}"), new XElement(MucClientSteps.Muc + "x"));

    /// <summary>
    /// What one joiner got until it is in and then until the storm is over: a refusal (wait) is sent again, as a client does;
    /// any other error fails the test.
    /// </summary>
    private static async Task<Joined> JoinedAsync(XmppTestClient joiner)
    {
        var (refusals, received, deadline) = (0, new List<XElement>(), DateTime.UtcNow + Storm);
        var quietSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            if (await joiner.TryReceiveAsync(TimeSpan.FromMilliseconds(500)) is not { } stanza)
            {
                // In, and nothing more for a while: the others' presences have all come (or never will).
                if (received.Any(IsSelfPresence) && DateTime.UtcNow - quietSince > TimeSpan.FromSeconds(3)) break;
                continue;
            }
            quietSince = DateTime.UtcNow;
            if (stanza.Name.LocalName == "presence" && (string?)stanza.Attribute("type") == "error")
            {
                Assert.NotNull(stanza.Element(XmppNamespaces.Client + "error")?.Element(XName.Get("resource-constraint", "urn:ietf:params:xml:ns:xmpp-stanzas")));
                refusals++;
                await Task.Delay(RetryAfter);
                await joiner.SendAsync(Join(joiner));
                continue;
            }
            received.Add(stanza);
        }
        Assert.True(received.Any(IsSelfPresence), $"{joiner.FullJid} never got in");
        return new Joined(refusals, received);
    }

    private static bool IsSelfPresence(XElement stanza) =>
        stanza.Name.LocalName == "presence" && stanza.Descendants().Any(child => child.Name.LocalName == "status" && (string?)child.Attribute("code") == "110");

    private sealed record Joined(int Refusals, IReadOnlyList<XElement> Received)
    {
        /// <summary>The nicks this joiner saw in the room, itself included.</summary>
        public IEnumerable<string> Roster(IReadOnlySet<string> everyone) => Received
            .Where(stanza => stanza.Name.LocalName == "presence" && stanza.Attribute("type") is null)
            .Select(stanza => ((string?)stanza.Attribute("from"))?.Split('/', 2) is [Room, var nick] ? nick : null)
            .OfType<string>().Where(everyone.Contains).Distinct().Order(StringComparer.Ordinal);
    }
}
