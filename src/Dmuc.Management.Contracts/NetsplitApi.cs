namespace Dmuc.Management.Contracts;

/// <summary>Netsplit drills: routes that cut and heal links between nodes (only on nodes started with drills on).</summary>
public static class NetsplitApi
{
    public const string Cut = "/api/netsplit/cut";
    public const string Heal = "/api/netsplit/heal";
}

/// <summary>Body of <c>POST /api/netsplit/cut</c>: the XMPP hosts whose nodes lose each other.</summary>
public sealed record NetsplitCutRequest(string HostA, string HostB);

/// <summary>One end of a cut: the XMPP host and the Akka address of the node serving it.</summary>
public sealed record NetsplitEndView(string Host, string Node);

/// <param name="Coordinator">The node that arranged the cut (the one the request went to).</param>
public sealed record NetsplitCutDone(NetsplitEndView A, NetsplitEndView B, string Coordinator);

/// <param name="Nodes">Every cluster member asked, this node first.</param>
public sealed record NetsplitHealDone(IReadOnlyList<NodeHealView> Nodes);

/// <summary>Healed: the node's cuts are over (it may have had none). NoAnswer: the node did not answer in time (drills
/// off there, or the node is unreachable for another reason), so its cuts, if any, may remain.</summary>
public enum NodeHealOutcome { Healed, NoAnswer }

/// <param name="HealedLinksTo">The hosts (or node addresses, for nodes without a host) the node had been cut from.</param>
public sealed record NodeHealView(string Node, string? Host, NodeHealOutcome Outcome, IReadOnlyList<string> HealedLinksTo);
