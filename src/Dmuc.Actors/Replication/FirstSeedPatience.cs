using Akka.Actor;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Whether the first of its seeds, not yet in a cluster, forms one of its own (docs/operations.md#seeds). Akka.Cluster's
/// first seed does so once no other seed took it in within <c>seed-node-timeout</c>; but a cluster with an unreachable
/// member that is not downed (a replica node that crashed too) cannot remove this node's previous incarnation, so it does
/// not answer, and the restarted primary formed a second cluster beside it. So the first seed forms one only when, for
/// <paramref name="grace"/>, no other seed has been up in a cluster: none was up (no remoting association with any), or
/// those up were starting, not in a cluster yet (they announce themselves, <see cref="NodeNotInCluster"/>; their
/// answers to Akka's own join requests can be lost, which left a first start waiting). While one is up in a cluster, it
/// waits to be taken in, as the other seeds always do.
/// </summary>
/// <param name="otherSeeds">The other seeds, compared by host and port (a drill's throttler changes the scheme).</param>
public sealed class FirstSeedPatience(IEnumerable<Address> otherSeeds, DateTimeOffset startedAt, TimeSpan grace)
{
    private readonly HashSet<(string? Host, int? Port)> _seeds = [.. otherSeeds.Select(Endpoint)];
    private readonly HashSet<(string? Host, int? Port)> _associated = [];
    private readonly Dictionary<(string? Host, int? Port), DateTimeOffset> _lastUp = [];
    private readonly Dictionary<(string? Host, int? Port), DateTimeOffset> _announcedAt = [];

    /// <summary>A seed that announced itself this recently is taken as not in a cluster (it announces every second until it is).</summary>
    public static readonly TimeSpan AnnouncedWithin = TimeSpan.FromSeconds(5);

    /// <summary>A remoting association with <paramref name="node"/> was made: it is up.</summary>
    public void Associated(Address node, DateTimeOffset now)
    {
        if (!_seeds.Contains(Endpoint(node))) return;
        _associated.Add(Endpoint(node));
        _lastUp[Endpoint(node)] = now;
    }

    /// <summary>The association with <paramref name="node"/> ended: it was up until now.</summary>
    public void Disassociated(Address node, DateTimeOffset now)
    {
        if (!_associated.Remove(Endpoint(node))) return;
        _lastUp[Endpoint(node)] = now;
    }

    /// <summary><paramref name="node"/> announced that it started and is not in a cluster yet (<see cref="NodeNotInCluster"/>).</summary>
    public void Announced(Address node, DateTimeOffset now)
    {
        if (_seeds.Contains(Endpoint(node))) _announcedAt[Endpoint(node)] = now;
    }

    /// <summary>
    /// The other seeds up now or within the grace period and not announcing themselves: the cluster this node waits to be
    /// taken into.
    /// </summary>
    public IReadOnlyList<string> SeedsInCluster(DateTimeOffset now) =>
        [.. _seeds.Where(seed => _associated.Contains(seed) || (_lastUp.TryGetValue(seed, out var at) && now - at < grace))
            .Where(seed => !(_announcedAt.TryGetValue(seed, out var at) && now - at < AnnouncedWithin))
            .Select(seed => $"{seed.Host}:{seed.Port}").Order(StringComparer.Ordinal)];

    /// <summary>Whether this node forms a cluster of its own now: it waited the grace period, and no other seed is up in a cluster.</summary>
    public bool JoinsItself(DateTimeOffset now) => now - startedAt >= grace && SeedsInCluster(now).Count == 0;

    /// <summary>Whether it has waited past the grace period for seeds in a cluster: worth telling the operator.</summary>
    public bool WaitsLong(DateTimeOffset now) => now - startedAt >= grace && SeedsInCluster(now).Count > 0;

    private static (string? Host, int? Port) Endpoint(Address address) => (address.Host, address.Port);
}

/// <summary>
/// Published on the event stream when a node announces that it started and is not in a cluster yet (its
/// <c>IncarnationStarted</c>, which it sends its seeds every second until it is Up).
/// </summary>
public sealed record NodeNotInCluster(Address Node);
