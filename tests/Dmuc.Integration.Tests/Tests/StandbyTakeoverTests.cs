using System.Diagnostics;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Cluster;
using Dmuc.Actors.Component;
using Dmuc.Actors.Replication;
using Dmuc.Integration.Tests.Ejabberd;
using Dmuc.Integration.Tests.Infrastructure;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Integration.Tests.Prosody;
using Dmuc.Integration.Tests.Xmpp;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;
using static Dmuc.Integration.Tests.Xmpp.MucClientSteps;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// A replica host's node killed (SIGKILL) while a standby node for the same host waits (docs/operations.md#standby): the
/// standby takes the host's component connection over, the cluster names it for the host, and the host's user stays in
/// the room and keeps receiving and speaking, through Prosody (one component connection per domain) and through ejabberd
/// (which would take several: the standby must not connect while the active node serves). The killed node, started again as
/// a standby, stays off. Messages the user sent just before the kill, some of them handed to the killed node and not yet
/// forwarded or acknowledged, each get one outcome through Prosody, whose mod_dmuc_stream_ack hands the standby what the
/// killed node had not acknowledged (docs/protocol/stream-ack.md); ejabberd has no such module and may lose them, never double them.
/// </summary>
public sealed class StandbyTakeoverTests(ITestOutputHelper output)
{
    private const string MucDomain = "channel.avalon.irc";
    private const string Room = "wallops@" + MucDomain;
    private const string PrimaryHost = "avalon.irc";
    private const string ReplicaHost = "killrc.oulubox.irc";
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(30);
    /// <summary>The failure detector (about 5 s), the standby's take-over delay (3 s), the handshake, downing and the netjoin, on a busy machine.</summary>
    private static readonly TimeSpan TakeOverWithin = TimeSpan.FromSeconds(90);
    private const int InFlightMessages = 200;

    [Fact]
    [Trait("Category", "Standby")]
    public Task Through_Prosody_the_standby_takes_over_a_killed_replica_nodes_host_and_its_user_stays_in_the_room() =>
        PlayAsync(async () => await ProsodyServer.StartAsync(
            new ProsodyOptions(MucHosting.ExternalComponent) { Domain = ReplicaHost, MucDomain = MucDomain, ServiceAdmins = [$"admin@{PrimaryHost}"] }));

    [EjabberdFact]
    [Trait("Category", "Standby")]
    public Task Through_ejabberd_the_standby_takes_over_a_killed_replica_nodes_host_and_its_user_stays_in_the_room() =>
        PlayAsync(async () => await EjabberdServer.StartAsync(new EjabberdOptions(ReplicaHost, MucDomain) { ServiceAdmins = [$"admin@{PrimaryHost}"] }));

    private async Task PlayAsync(Func<Task<XmppHostServer>> startReplicaServer)
    {
        await using var primaryServer = await ProsodyServer.StartAsync(
            new ProsodyOptions(MucHosting.ExternalComponent) { Domain = PrimaryHost, MucDomain = MucDomain, ServiceAdmins = [$"admin@{PrimaryHost}"] });
        await using var replicaServer = await startReplicaServer();
        try
        {
            await PlayTakeOverAsync(primaryServer, replicaServer);
        }
        catch
        {
            output.WriteLine($"=== {PrimaryHost} ===\n{primaryServer.DescribeForFailure(25)}\n=== {ReplicaHost} ===\n{replicaServer.DescribeForFailure(40)}");
            throw;
        }
    }

    private async Task PlayTakeOverAsync(XmppHostServer primaryServer, XmppHostServer replicaServer)
    {
        var clusterPort = FreeTcpPorts.Pick(1)[0];
        // The burst sent into the kill is about the crash: the occupant stanza rate (10 at once) would answer most of it with errors.
        var primarySettings = new Dictionary<string, string?>(InProcessDmucNode.PrimarySettings(PrimaryHost, clusterPort))
        {
            ["Dmuc:Limits:OccupantStanzaBurst"] = "1000",
            ["Dmuc:Limits:OccupantStanzasPerSecond"] = "1000",
        };
        await using var primary = await InProcessDmucNode.StartAsync(primaryServer.ComponentEndpoint, primarySettings, CancellationToken.None);
        var activeSettings = InProcessDmucNode.ReplicaSettings(ReplicaHost, clusterPort);
        await using var active = new DmucNodeProcess(activeSettings);
        foreach (var (key, value) in TestClusterAuthority.IssueInto(Path.Combine(active.DataDirectory, "tls"), InProcessDmucNode.ClaimsOf(
                     new Dictionary<string, string?>(activeSettings) { ["Dmuc:Domain"] = MucDomain })))
            activeSettings[key] = value;
        active.Start(replicaServer.ComponentEndpoint);
        try
        {
            await PlayWithActiveAsync(primaryServer, replicaServer, primary, active, activeSettings, clusterPort);
        }
        catch
        {
            output.WriteLine($"=== the active replica node's console ===\n{active.ConsoleOutput}");
            throw;
        }
    }

    private async Task PlayWithActiveAsync(XmppHostServer primaryServer, XmppHostServer replicaServer, InProcessDmucNode primary, DmucNodeProcess active,
        Dictionary<string, string?> activeSettings, int clusterPort)
    {
        await primaryServer.WaitForComponentAsync(Step);
        await replicaServer.WaitForComponentAsync(Step);
        var activeAddress = await UntilAsync(() => primary.Hosts.ReplicaNodeFor(ReplicaHost), "the primary names a node for " + ReplicaHost);

        await using var standby = await InProcessDmucNode.StartAsync(replicaServer.ComponentEndpoint,
            new Dictionary<string, string?>(InProcessDmucNode.ReplicaSettings(ReplicaHost, clusterPort)) { ["Dmuc:Standby:Enabled"] = "true" },
            CancellationToken.None);
        await UntilAsync(() => standby.Hosts.PrimaryNode, "the standby is in the cluster");
        // Both see the active node as the host's: the older member serves, and the standby's stream stays off (ejabberd would take it).
        Assert.Equal(activeAddress, await UntilAsync(() => standby.Hosts.OwnHostNode, "the standby names the host's node"));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(activeAddress, primary.Hosts.ReplicaNodeFor(ReplicaHost));
        var standbyOutbox = standby.Services.GetRequiredService<ComponentOutbox>();
        Assert.False(standbyOutbox.IsConnected, "the standby connected while the active node serves the host");
        Assert.Equal(1, replicaServer.ComponentHandshakes());

        await using var alice = await XmppTestClient.ConnectAsync(primaryServer.ClientEndpoint, $"alice@{PrimaryHost}/laptop", "password");
        await using var argl = await XmppTestClient.ConnectAsync(replicaServer.ClientEndpoint, $"argl@{ReplicaHost}/laptop", "password");
        await alice.JoinRoomAsync(Room, "Alice", Step);
        await alice.ConfigureRoomAsync(Room);
        await argl.JoinRoomAsync(Room, "Wumpus", Step);
        await alice.SayAsync(Room, "before the crash");
        var seenByArgl = await argl.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, "before the crash"), Step);
        var seenByAlice = new List<XElement>();
        async Task AliceSays(string body)
        {
            await alice.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", Room), new XAttribute("type", "groupchat"),
                new XElement(XmppNamespaces.Client + "body", body)));
            seenByAlice.AddRange(await alice.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, body), Step));
        }

        var handshakesBefore = replicaServer.ComponentHandshakes();
        // In one write, so that the server hands them on together; the node is killed once it has begun to echo them.
        var inFlight = Enumerable.Range(1, InFlightMessages).Select(i => $"in flight {i}").ToList();
        await argl.SendAsync(string.Concat(inFlight.Select(body => $"<message to='{Room}' type='groupchat' id='{body}'><body>{body}</body></message>")));
        await Task.Delay(5);
        var clock = Stopwatch.StartNew();
        await active.KillAsync();
        output.WriteLine($"killed {ReplicaHost}'s active node {activeAddress}");

        // Alice keeps talking; the first of her messages that reaches Argl after the crash shows the standby serves the host.
        string? reached = null;
        for (var said = 1; reached is null; said++)
        {
            Assert.True(clock.Elapsed < TakeOverWithin, $"nothing Alice said after the crash reached Argl within {TakeOverWithin.TotalSeconds} s");
            await AliceSays($"after the crash {said}");
            var deadline = clock.Elapsed + TimeSpan.FromSeconds(1);
            while (reached is null && await argl.TryReceiveAsync(deadline - clock.Elapsed is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero) is { } stanza)
            {
                seenByArgl.Add(stanza);
                if (stanza.Element(XmppNamespaces.Client + "body")?.Value is { } body && body.StartsWith("after the crash", StringComparison.Ordinal)
                    && (string?)stanza.Attribute("type") == "groupchat")
                    reached = body;
            }
        }
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s after the kill: '{reached}' reached Argl through the standby");

        var standbyAddress = await UntilAsync(() => standby.Hosts.OwnHostNode is { } node && node != activeAddress ? node : null, "the standby names itself");
        Assert.Equal(standbyAddress, primary.Hosts.ReplicaNodeFor(ReplicaHost));
        Assert.True(standbyOutbox.IsConnected);
        Assert.True(replicaServer.ComponentHandshakes() > handshakesBefore);

        // Argl speaks through the standby, and Alice hears it.
        await argl.SendAsync(new XElement(XmppNamespaces.Client + "message", new XAttribute("to", Room), new XAttribute("type", "groupchat"),
            new XElement(XmppNamespaces.Client + "body", "still here")));
        seenByArgl.AddRange(await argl.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, "still here"), Step));
        seenByAlice.AddRange(await alice.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, "still here") && (string?)stanza.Attribute("from") == $"{Room}/Wumpus", Step));

        // The old node, started again as a standby, joins as the younger member: the cluster goes on naming the node that
        // took over, and the old one keeps its stream off (ejabberd would have logged its handshake).
        var handshakesAfterTakeOver = replicaServer.ComponentHandshakes();
        activeSettings["Dmuc:Standby:Enabled"] = "true";
        active.Start();
        var cluster = Akka.Cluster.Cluster.Get(primary.Services.GetRequiredService<ActorSystem>());
        await UntilAsync(() => cluster.State.Members.Count(member => member.Status == MemberStatus.Up && member.HasRole(ClusterHosts.HostRole(ReplicaHost))) == 2
            ? "both" : null, $"two Up members of {ReplicaHost}");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(standbyAddress, primary.Hosts.ReplicaNodeFor(ReplicaHost));
        Assert.Equal(handshakesAfterTakeOver, replicaServer.ComponentHandshakes());
        await AliceSays("with the old node back");
        seenByArgl.AddRange(await argl.ReceiveUntilAsync(stanza => IsGroupchatBody(stanza, "with the old node back"), Step));

        // Argl never left the room nor saw anyone leave it.
        Assert.DoesNotContain(seenByArgl, stanza => stanza.Name == XmppNamespaces.Client + "presence" && (string?)stanza.Attribute("type") == "unavailable");
        Assert.DoesNotContain(seenByArgl, stanza => IsError(stanza) && !inFlight.Contains((string?)stanza.Attribute("id") ?? ""));
        AssertOneOutcomeEach(inFlight, seenByArgl, seenByAlice, keepsWhatItHanded: replicaServer is ProsodyServer);
    }

    /// <summary>
    /// Each message Argl sent into the kill is echoed to him or refused, once, and Alice has each echoed one once; without a server
    /// that keeps what it handed the node (ejabberd), a message may have no outcome. A copy the new node's replica resent after its
    /// receipt (delayed, same stanza-id: netjoin.md §5) is not a second outcome.
    /// </summary>
    private void AssertOneOutcomeEach(IReadOnlyList<string> sent, IEnumerable<XElement> seenByArgl, IEnumerable<XElement> seenByAlice, bool keepsWhatItHanded)
    {
        var (arglSaw, aliceSaw) = (WithoutResends(seenByArgl, Room).ToList(), WithoutResends(seenByAlice, Room).ToList());
        var lost = 0;
        foreach (var body in sent)
        {
            var echoes = arglSaw.Count(stanza => IsGroupchatBody(stanza, body));
            var errors = arglSaw.Count(stanza => IsError(stanza) && (string?)stanza.Attribute("id") == body);
            var outcomes = $"'{body}' got {echoes} echoes and {errors} errors: " +
                string.Join("\n", arglSaw.Where(stanza => (string?)stanza.Attribute("id") == body || IsGroupchatBody(stanza, body)));
            if (keepsWhatItHanded) Assert.True(echoes + errors == 1, outcomes);
            else Assert.True(echoes + errors <= 1, outcomes);
            if (echoes + errors == 0) lost++;
            Assert.Equal(echoes, aliceSaw.Count(stanza => IsGroupchatBody(stanza, body)));
        }
        output.WriteLine($"{sent.Count} messages sent into the kill: {arglSaw.Count(stanza => sent.Any(body => IsGroupchatBody(stanza, body)))} echoed, " +
            $"{arglSaw.Count(stanza => IsError(stanza) && sent.Contains((string?)stanza.Attribute("id") ?? ""))} refused, {lost} without an outcome");
    }

    private static bool IsError(XElement stanza) => stanza.Name == XmppNamespaces.Client + "message" && (string?)stanza.Attribute("type") == "error";

    private static async Task<T> UntilAsync<T>(Func<T?> value, string what) where T : class
    {
        var deadline = DateTime.UtcNow + Step;
        while (true)
        {
            if (value() is { } found) return found;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Not within {Step.TotalSeconds} s: {what}");
            await Task.Delay(100);
        }
    }
}
