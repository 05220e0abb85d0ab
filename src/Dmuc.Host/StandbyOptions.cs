using Dmuc.Actors.Replication;

namespace Dmuc.Host;

/// <summary>
/// A standby node for an XMPP host, bound from "Dmuc:Standby": it joins the cluster, keeps its component stream off while
/// the node serving its host is reachable, and takes the host over when that node is not (docs/operations.md#standby).
/// </summary>
public sealed class StandbyOptions
{
    public const string Switch = "--standby";

    /// <summary>This node stands by for its host (Dmuc:HostDomain) until the cluster names it.</summary>
    public bool Enabled { get; set; }

    /// <summary>How long the serving node must have been unreachable before this one contends for the host.</summary>
    public TimeSpan TakeOverAfter { get; set; } = StandbySettings.DefaultTakeOverAfter;

    public StandbySettings ToSettings() => new(Enabled, TakeOverAfter);

    /// <param name="role">Only a replica's host can be taken over today: the primary's rooms do not move between nodes yet.</param>
    public void Validate(NodeRole role, IReadOnlyList<string> seeds)
    {
        if (TakeOverAfter < TimeSpan.Zero) throw new InvalidSettingException("Dmuc:Standby:TakeOverAfter must not be negative");
        if (!Enabled) return;
        if (role != NodeRole.Replica)
            throw new InvalidSettingException("a standby node (Dmuc:Standby:Enabled) must be a replica: a primary's rooms cannot move to another node yet");
        if (seeds.Count == 0) throw new InvalidSettingException("a standby node (Dmuc:Standby:Enabled) needs Dmuc:Seeds: it waits for the cluster to name it");
    }
}
