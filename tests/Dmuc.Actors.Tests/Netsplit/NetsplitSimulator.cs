using Akka.Actor;
using Akka.Remote;
using Akka.Remote.Transport;
using Dmuc.Actors.Tests.Replication;

namespace Dmuc.Actors.Tests.Netsplit;

/// <summary>
/// Cuts and heals the network between two nodes of a <see cref="DmucTestCluster"/> with Akka.Remote's throttler
/// (<c>applied-adapters = [trttl]</c>): a blackholed direction drops every message, as a real netsplit does.
/// </summary>
public sealed class NetsplitSimulator(DmucTestCluster cluster)
{
    /// <summary>Cuts the link between the nodes of two hosts, both ways or only from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public Task CutAsync(string from, string to, bool bothWays = true) =>
        Throttle(from, to, bothWays ? ThrottleTransportAdapter.Direction.Both : ThrottleTransportAdapter.Direction.Send, Blackhole.Instance);

    public Task HealAsync(string from, string to) =>
        Throttle(from, to, ThrottleTransportAdapter.Direction.Both, Unthrottled.Instance);

    private async Task Throttle(string from, string to, ThrottleTransportAdapter.Direction direction, ThrottleMode mode)
    {
        var system = (ExtendedActorSystem)cluster.Node(from).System;
        var transport = ((IRemoteActorRefProvider)system.Provider).Transport;
        if (!await transport.ManagementCommand(new SetThrottle(cluster.Node(to).Address, direction, mode)))
            throw new InvalidOperationException($"the throttler refused {mode} from {from} to {to}");
    }
}
