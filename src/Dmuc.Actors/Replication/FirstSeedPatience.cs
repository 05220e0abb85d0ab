using Akka.Actor;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Whether the first of its seeds, not yet in a cluster, forms one of its own (docs/operations.md#seeds). Akka.Cluster's
/// first seed does so once no other seed took it in within <c>seed-node-timeout</c>; but a cluster with an unreachable
/// member that is not downed (a replica node that crashed too) cannot remove this node's previous incarnation, so it does
/// not answer, and the restarted primary formed a second cluster beside it. So the first seed forms one only when no other
/// seed has been up for <paramref name="grace"/> (no remoting association with any): the whole cluster is down. While
/// one is up, it waits to be taken in, as the other seeds always do.
/// </summary>
/// <param name="otherSeeds">The other seeds, compared by host and port (a drill's throttler changes the scheme).</param>
public sealed class FirstSeedPatience(IEnumerable<Address> otherSeeds, DateTimeOffset startedAt, TimeSpan grace)
{
    private readonly HashSet<(string? Host, int? Port)> _seeds = [.. otherSeeds.Select(Endpoint)];
    private readonly HashSet<(string? Host, int? Port)> _associated = [];
    private readonly Dictionary<(string? Host, int? Port), DateTimeOffset> _lastUp = [];

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

    /// <summary>The other seeds up now or within the grace period: the cluster this node waits to be taken into.</summary>
    public IReadOnlyList<string> SeedsUp(DateTimeOffset now) =>
        [.. _seeds.Where(seed => _associated.Contains(seed) || (_lastUp.TryGetValue(seed, out var at) && now - at < grace))
            .Select(seed => $"{seed.Host}:{seed.Port}").Order(StringComparer.Ordinal)];

    /// <summary>Whether this node forms a cluster of its own now: it waited the grace period, and no other seed was up meanwhile.</summary>
    public bool JoinsItself(DateTimeOffset now) => now - startedAt >= grace && SeedsUp(now).Count == 0;

    /// <summary>Whether it has waited past the grace period for seeds that are up: worth telling the operator.</summary>
    public bool WaitsLong(DateTimeOffset now) => now - startedAt >= grace && SeedsUp(now).Count > 0;

    private static (string? Host, int? Port) Endpoint(Address address) => (address.Host, address.Port);
}
