using Dmuc.Actors.Replication;
using Dmuc.Integration.Tests.Scansion;
using Dmuc.Management.Contracts;

namespace Dmuc.Integration.Tests.Muc;

/// <summary>
/// Runs a scansion script's "Netsplit" steps on a <see cref="DrillTopology"/> through the nodes' management endpoints,
/// as an operator's <c>dmuc netsplit cut|heal</c> would, and returns once both ends of <paramref name="room"/>'s links
/// show the cut or the heal (a stanza sent before the split is noticed would go to a primary it cannot reach).
/// </summary>
public sealed class RoomLinkDrill(DrillTopology topology, string room) : ILinkDrill
{
    public async Task CutAsync(string hostA, string hostB, CancellationToken cancellationToken)
    {
        using (var management = topology.Management(hostA))
            await management.PostAsync<NetsplitCutDone>(NetsplitApi.Cut, new NetsplitCutRequest(hostA, hostB), cancellationToken);
        foreach (var replicaHost in new[] { hostA, hostB }.Where(host => host != DrillTopology.Avalon))
            await topology.WaitForLinkStateAsync(room, replicaHost, LinkState.Split);
    }

    public async Task HealAsync(CancellationToken cancellationToken)
    {
        using (var management = topology.Management(DrillTopology.Avalon))
            await management.PostAsync<NetsplitHealDone>(NetsplitApi.Heal, null, cancellationToken);
        foreach (var replicaHost in DrillTopology.Hosts.Where(host => host != DrillTopology.Avalon))
            await topology.WaitForLinkStateAsync(room, replicaHost, LinkState.Linked);
    }
}
