using Akka.Actor;
using Akka.Configuration;
using Dmuc.Host.Drills;
using Dmuc.Integration.Tests.Infrastructure;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// What a drill leaves behind once healed: nothing. In the 30-minute chaos run a replica node whose drill had cut and
/// healed its link to the primary could not be reached by any later incarnation of the primary's node for minutes
/// (docs/operations.md): the throttler kept the heal's send-only entry for that address, and an inbound association
/// from an address with a send-only entry waits forever for its inbound mode.
/// </summary>
public sealed class NetsplitDrillHealTests
{
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(10);

    [Fact]
    [Trait("Category", "Netsplit")]
    public async Task A_node_restarted_after_a_healed_cut_reaches_the_node_that_cut_it()
    {
        var ports = FreeTcpPorts.Pick(2);
        using var cutter = Node(ports[0]);
        var drill = cutter.ActorOf(NetsplitDrill.Props(), NetsplitDrill.Name);
        var drillPath = new RootActorPath(Akka.Cluster.Cluster.Get(cutter).SelfAddress) / "user" / NetsplitDrill.Name;
        var peer = Node(ports[1]);
        try
        {
            // Twice: the second heal also meets the associations of the incarnation that is gone.
            for (var round = 1; round <= 2; round++)
            {
                Assert.NotNull(await Identify(peer, drillPath));
                var peerAddress = Akka.Cluster.Cluster.Get(peer).SelfAddress.ToString();
                await drill.Ask<NetsplitDrill.LinkCutScheduled>(new NetsplitDrill.CutLinkTo(peerAddress), Answer);
                await Task.Delay(NetsplitDrill.AnswerGrace * 2);
                var healed = await drill.Ask<NetsplitDrill.LinksHealed>(NetsplitDrill.HealLinks.Instance, Answer);
                Assert.Equal([peerAddress], healed.Peers);

                await peer.Terminate();
                peer = Node(ports[1]);
                Assert.NotNull(await Identify(peer, drillPath));
            }
        }
        finally
        {
            await peer.Terminate();
        }
    }

    private static ActorSystem Node(int port) => ActorSystem.Create("dmuc", ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = WARNING
          actor.provider = cluster
          remote.dot-netty.tcp {
            hostname = "127.0.0.1"
            port = {{port}}
            {{NetsplitDrillHosting.ThrottlerHocon.Replace("akka.remote.dot-netty.tcp.", "")}}
          }
          coordinated-shutdown.run-by-clr-shutdown-hook = off
        }
        """));

    private static async Task<IActorRef?> Identify(ActorSystem from, ActorPath path)
    {
        var identity = await from.ActorSelection(path).Ask<ActorIdentity>(new Identify(path), Answer);
        return identity.Subject;
    }
}
