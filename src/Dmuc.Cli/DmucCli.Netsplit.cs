using System.CommandLine;
using Dmuc.Management.Contracts;

namespace Dmuc.Cli;

public sealed partial class DmucCli
{
    /// <summary><c>netsplit cut HOST_A HOST_B</c> and <c>netsplit heal</c>: drills, on nodes started with drills on.</summary>
    private Command NetsplitCommand()
    {
        var hostA = new Argument<string>("HOST_A") { Description = "An XMPP host whose Dmuc node loses the other" };
        var hostB = new Argument<string>("HOST_B") { Description = "The XMPP host on the other side of the cut" };
        var cut = Asking(new Command("cut", "Cut the link between the nodes of two XMPP hosts, both ways, until healed") { hostA, hostB },
            (parse, client, ct) => client.PostAsync<NetsplitCutDone>(NetsplitApi.Cut,
                new NetsplitCutRequest(parse.GetRequiredValue(hostA), parse.GetRequiredValue(hostB)), ct),
            NetsplitViews.Cut);
        var heal = Asking(new Command("heal", "End every cut in the cluster (works through any node, even a cut one)"),
            (_, client, ct) => client.PostAsync<NetsplitHealDone>(NetsplitApi.Heal, null, ct), NetsplitViews.Heal,
            healed => healed.Nodes.Any(node => node.Outcome == NodeHealOutcome.NoAnswer) ? ExitCodes.NodeUnreachable : ExitCodes.Ok);
        return new Command("netsplit", "Netsplit drills: nodes must run with Dmuc:Drills:Netsplit=true (--allow-netsplit-drills)")
        {
            cut, heal,
        };
    }
}
