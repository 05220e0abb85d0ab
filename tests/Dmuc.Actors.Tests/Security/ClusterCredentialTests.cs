using System.Net.Security;
using System.Net.Sockets;
using Akka.Cluster;
using Dmuc.Actors.Replication;
using Dmuc.Actors.Tests.Infrastructure;
using Dmuc.Actors.Tests.Replication;
using Dmuc.Credentials;
using static Dmuc.Actors.Tests.Replication.RoomRequests;
using static Dmuc.Actors.Tests.Replication.Wallops;

namespace Dmuc.Actors.Tests.Security;

/// <summary>An avalon primary with killrc and eris replicas, for intruders to try; a fresh one per test class.</summary>
public sealed class GuardedClusterFixture : IAsyncLifetime
{
    public DmucTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Cluster = await DmucTestCluster.StartAsync(new DmucNodeSpec(Avalon, IsPrimary: true), new DmucNodeSpec(Killrc), new DmucNodeSpec(Eris));

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// Nodes without the cluster's credential, or with one that names something else, try to get in and speak for
/// others (issue 9): they are refused, nothing reaches them, and the real users lose nothing.
/// </summary>
public sealed class ClusterCredentialTests(GuardedClusterFixture fixture) : IClassFixture<GuardedClusterFixture>
{
    // Long enough for a node to be let in several times over: the test cluster forms in well under a second.
    private static readonly TimeSpan AdmissionWindow = TimeSpan.FromSeconds(8);

    private DmucTestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task A_connection_without_a_client_certificate_is_refused_in_the_tls_handshake()
    {
        var primary = Cluster.Primary.Address;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(primary.Host!, primary.Port!.Value);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);

        var refused = await Record.ExceptionAsync(async () =>
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "dmuc" });
            // TLS 1.3 reports a refused client certificate only on the first read after the handshake.
            var read = await tls.ReadAsync(new byte[1]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (read == 0) throw new IOException("closed by the node");
        });

        Assert.NotNull(refused);
    }

    [Fact]
    public async Task A_node_with_a_certificate_of_another_authority_never_joins()
    {
        using var otherAuthority = ClusterAuthority.Create("someone else's authority", TimeSpan.FromDays(1));
        var intruder = Cluster.StartIntruder(new DmucNodeSpec("vesa.yeggmaex.irc"), TestCredentials.For("vesa.yeggmaex.irc", authority: otherAuthority));

        await Task.Delay(AdmissionWindow);

        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(Cluster.Primary.System).State.Members, member => member.Address == intruder.Address);
        Assert.DoesNotContain(Akka.Cluster.Cluster.Get(intruder.System).State.Members, member => member.Status == MemberStatus.Up && member.Address != intruder.Address);
    }

    [Fact]
    public async Task A_node_certified_for_killrc_that_claims_eris_is_downed_and_gets_none_of_eris_traffic()
    {
        var room = new ClusterRoom(Cluster, $"claim-eris@{Service}");
        await room.CreateAsync(Wumpus);
        await room.EnterAllAsync([WiZ, Troy]);

        var intruder = Cluster.StartIntruder(new DmucNodeSpec(Eris), TestCredentials.For(Killrc));
        await AssertDownedAsync(intruder);
        Cluster.SendFromUser(Say(Wumpus, room.Jid, "for eris only", id: "eris-only"));
        await room.SettleAsync([Wumpus, WiZ, Troy]);

        Assert.Equal(Cluster.Node(Eris).Address, Cluster.Primary.ClusterHosts.Hosts[Eris]);
        Assert.Empty(intruder.Sink.All);
        Assert.Contains(Cluster.ReceivedBy(WiZ.Jid), stanza => stanza.IsGroupchatWithBody("for eris only"));
    }

    [Fact]
    public async Task A_replica_node_that_claims_the_primaries_is_downed_and_replica_users_keep_talking()
    {
        var room = new ClusterRoom(Cluster, $"claim-primary@{Service}");
        await room.CreateAsync(Wumpus);
        await room.EnterAsync(Troy);

        // A lower port than the primary's would have made it the primary (the lowest address wins) had it been believed.
        var intruder = Cluster.StartIntruder(new DmucNodeSpec("vesa.yeggmaex.irc", IsPrimary: true), TestCredentials.For("vesa.yeggmaex.irc"));
        await AssertDownedAsync(intruder);
        Cluster.SendFromUser(Say(Troy, room.Jid, "still here", id: "still"));
        await room.SettleAsync([Wumpus, Troy]);

        Assert.All(Cluster.Nodes, node => Assert.Equal(Cluster.Primary.Address, node.ClusterHosts.PrimaryNode));
        Assert.Contains(Cluster.ReceivedBy(Wumpus.Jid), stanza => stanza.IsGroupchatWithBody("still here"));
        Assert.Empty(intruder.Sink.All);
    }

    [Fact]
    public async Task A_certified_replica_cannot_relay_stanzas_of_another_hosts_users()
    {
        var room = new ClusterRoom(Cluster, $"relay@{Service}");
        await room.CreateAsync(Wumpus);
        await room.EnterAsync(Troy);

        // killrc's node, whose certificate names killrc only, relays a stanza as if eris's node had sent it.
        var forged = Say(Troy, room.Jid, "forged by killrc", id: "forged");
        Cluster.Node(Killrc).System.ActorSelection(new Akka.Actor.RootActorPath(Cluster.Primary.Address) / "user" / Dmuc.Actors.Rooms.RoomDirectory.Name)
            .Tell(new ForwardedStanza(forged, Eris));
        Cluster.SendFromUser(Say(Troy, room.Jid, "genuine", id: "genuine"));
        await room.SettleAsync([Wumpus, Troy]);

        Assert.Contains(Cluster.ReceivedBy(Wumpus.Jid), stanza => stanza.IsGroupchatWithBody("genuine"));
        Assert.DoesNotContain(Cluster.ReceivedBy(Wumpus.Jid), stanza => stanza.IsGroupchatWithBody("forged by killrc"));
    }

    /// <summary>The intruder got as far as joining and was downed: its cluster extension shuts down when it learns that.</summary>
    private async Task AssertDownedAsync(DmucTestNode intruder)
    {
        await Eventually.HoldsAsync(() => Akka.Cluster.Cluster.Get(intruder.System).IsTerminated, "the intruder to be downed", AdmissionWindow);
        Assert.DoesNotContain(Cluster.Nodes.SelectMany(node => node.ClusterHosts.Hosts.Values), address => address == intruder.Address);
    }
}
