using Dmuc.Management.Contracts;
using Spectre.Console;

namespace Dmuc.Cli;

/// <summary>How the netsplit drills' answers look in a terminal.</summary>
internal static class NetsplitViews
{
    public static void Cut(IAnsiConsole console, NetsplitCutDone cut)
    {
        var table = Views.NewTable("Host", "Node");
        foreach (var end in new[] { cut.A, cut.B }) Views.AddRow(table, end.Host, end.Node);
        console.Write(table);
        console.WriteLine($"Cut: these nodes drop everything they send each other until `dmuc netsplit heal` (arranged by {cut.Coordinator}).");
    }

    public static void Heal(IAnsiConsole console, NetsplitHealDone heal)
    {
        var table = Views.NewTable("Node", "Host", "Outcome", "Was cut from");
        foreach (var node in heal.Nodes)
            Views.AddRow(table, node.Node, node.Host ?? "-", node.Outcome == NodeHealOutcome.Healed ? "healed" : "NO ANSWER",
                node.HealedLinksTo.Count == 0 ? "-" : string.Join(", ", node.HealedLinksTo));
        console.Write(table);
        if (heal.Nodes.Any(node => node.Outcome == NodeHealOutcome.NoAnswer))
            console.WriteLine("Nodes marked NO ANSWER may still drop what they send: run heal again once they are reachable.");
    }
}
