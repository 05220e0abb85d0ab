namespace Dmuc.Integration.Tests.Chaos;

/// <summary>What a fault does to the local topology.</summary>
public enum FaultKind
{
    /// <summary>`dmuc netsplit cut` between the primary's host and a replica host, healed when the fault ends.</summary>
    Cut,
    /// <summary>kill -9 of a replica host's Dmuc node, started again when the fault ends.</summary>
    ReplicaNodeCrash,
    /// <summary>kill -9 of the primary's Dmuc node, started again when the fault ends.</summary>
    PrimaryNodeCrash,
    /// <summary>kill -9 of a host's Prosody (every session on it is lost), started again when the fault ends.</summary>
    ServerCrash,
}

/// <summary>One fault: after a quiet <paramref name="Gap"/>, hit <paramref name="Host"/> for <paramref name="Lasts"/>.</summary>
public sealed record Fault(TimeSpan Gap, FaultKind Kind, string Host, TimeSpan Lasts)
{
    public override string ToString() => $"{Kind} {Host} for {Lasts.TotalSeconds:0.0} s (after {Gap.TotalSeconds:0.0} s)";
}

/// <summary>
/// The faults of a run, one after the other, drawn from a seed: the same seed gives the same sequence, so a failing run
/// can be replayed. How many of them fit a duration depends on how long the topology takes to recover from each.
/// </summary>
public static class FaultSchedule
{
    private static readonly (TimeSpan Min, TimeSpan Max) Gap = (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(8));

    /// <summary>How long each kind of fault lasts: cuts long enough to be detected (the keepalive) or not, crashes short.</summary>
    private static (TimeSpan Min, TimeSpan Max) Duration(FaultKind kind) => kind switch
    {
        FaultKind.Cut => (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)),
        FaultKind.ServerCrash => (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)),
        _ => (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)),
    };

    /// <summary>An endless sequence of faults of the allowed kinds on the given hosts (the first is the primary's).</summary>
    public static IEnumerable<Fault> Draw(int seed, IReadOnlyCollection<FaultKind> allowed, IReadOnlyList<string> hosts)
    {
        if (allowed.Count == 0) yield break;
        var kinds = allowed.Distinct().Order().ToArray();
        var random = new Random(seed);
        var replicas = hosts.Skip(1).ToArray();
        while (true)
        {
            var gap = Between(random, Gap);
            var kind = kinds[random.Next(kinds.Length)];
            var host = kind switch
            {
                FaultKind.PrimaryNodeCrash => hosts[0],
                FaultKind.ServerCrash => hosts[random.Next(hosts.Count)],
                _ => replicas[random.Next(replicas.Length)],
            };
            yield return new Fault(gap, kind, host, Between(random, Duration(kind)));
        }
    }

    /// <summary>
    /// The faults of a run of <paramref name="duration"/>, with the time each starts if every one took exactly its length:
    /// those drawn until the first that would not be over by the end (so the settling after the run is fault-free).
    /// </summary>
    public static IReadOnlyList<(TimeSpan At, Fault Fault)> Plan(int seed, IReadOnlyCollection<FaultKind> allowed, IReadOnlyList<string> hosts, TimeSpan duration)
    {
        var plan = new List<(TimeSpan, Fault)>();
        var now = TimeSpan.Zero;
        foreach (var fault in Draw(seed, allowed, hosts))
        {
            if (now + fault.Gap + fault.Lasts > duration) break;
            plan.Add((now + fault.Gap, fault));
            now += fault.Gap + fault.Lasts;
        }
        return plan;
    }

    private static TimeSpan Between(Random random, (TimeSpan Min, TimeSpan Max) range) =>
        TimeSpan.FromMilliseconds(Math.Round(range.Min.TotalMilliseconds + random.NextDouble() * (range.Max - range.Min).TotalMilliseconds, 0));
}
