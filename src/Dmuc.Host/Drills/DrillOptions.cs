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
    /// The scheme of every node's address: Akka.Remote over TLS (<c>ssl</c>), through the throttler (<c>trttl</c>) when
    /// drills are on. A seed is given as <c>akka.tcp://</c> or with any of these schemes (deployments and docs stay
    /// the same whatever the transport), and is meant to be a node like this one, so it takes this node's scheme.
    /// </summary>
    public string SeedAddress(string seed)
    {
        var separator = seed.IndexOf("://", StringComparison.Ordinal);
        return separator < 0 || !seed.StartsWith("akka.", StringComparison.Ordinal) ? seed : ClusterScheme + seed[separator..];
    }

    public string ClusterScheme => Netsplit ? "akka.trttl.ssl.tcp" : "akka.ssl.tcp";

    /// <summary>
    /// The configuration reads switches as KEY VALUE pairs, so a bare flag (<see cref="NetsplitSwitch"/>,
    /// <see cref="StandbyOptions.Switch"/>) would swallow the next switch as its value: it becomes <c>--FLAG=true</c>. With an
    /// explicit value it is left alone.
    /// </summary>
    public static string[] WithFlagValues(string[] args) => args.Select((arg, i) =>
        arg is NetsplitSwitch or StandbyOptions.Switch && !(i + 1 < args.Length && bool.TryParse(args[i + 1], out _)) ? $"{arg}=true" : arg).ToArray();
}
