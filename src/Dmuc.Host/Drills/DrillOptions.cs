namespace Dmuc.Host.Drills;

/// <summary>Operator drills, bound from "Dmuc:Drills". All off by default: they exist to rehearse failures on purpose.</summary>
public sealed class DrillOptions
{
    public const string NetsplitSwitch = "--allow-netsplit-drills";

    /// <summary>
    /// Lets the management endpoint cut and heal links between nodes (<c>dmuc netsplit cut|heal</c>). The node then
    /// runs Akka.Remote through its throttler adapter, so its address is <c>akka.trttl.tcp://…</c>: turn it on for
    /// every node of a cluster or for none.
    /// </summary>
    public bool Netsplit { get; set; }

    /// <summary>
    /// With netsplit drills on, the node's own address has the throttler's scheme; a seed given as plain
    /// <c>akka.tcp://</c> (as in every other deployment) is meant to be the same node, so it gets that scheme too.
    /// </summary>
    public string SeedAddress(string seed) =>
        Netsplit && seed.StartsWith(PlainScheme, StringComparison.Ordinal) ? ThrottledScheme + seed[PlainScheme.Length..] : seed;

    /// <summary>
    /// The configuration reads switches as KEY VALUE pairs, so a bare <see cref="NetsplitSwitch"/> would swallow the
    /// next switch as its value: it becomes <c>--allow-netsplit-drills=true</c>. With an explicit value it is left alone.
    /// </summary>
    public static string[] WithFlagValues(string[] args) => args.Select((arg, i) =>
        arg == NetsplitSwitch && !(i + 1 < args.Length && bool.TryParse(args[i + 1], out _)) ? $"{arg}=true" : arg).ToArray();

    private const string PlainScheme = "akka.tcp://";
    private const string ThrottledScheme = "akka.trttl.tcp://";
}
