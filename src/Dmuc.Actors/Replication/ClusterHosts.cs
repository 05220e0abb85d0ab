using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Which cluster node serves which XMPP host, and which node holds the primaries. Nodes say it with their
/// cluster roles (<c>host-DOMAIN</c>, and <c>primary</c> or <c>replica</c>); <see cref="ClusterHostsWatcher"/>
/// keeps this view current. Rooms read it on every command, so it is an immutable snapshot swapped atomically.
/// </summary>
public sealed class ClusterHosts
{
    public const string PrimaryRole = "primary";
    public const string ReplicaRole = "replica";
    // HOCON carries roles unquoted, so no colon here.
    private const string HostRolePrefix = "host-";

    private View _view = new(ImmutableDictionary<string, Address>.Empty, null);

    public ClusterHosts(string? ownHost) => OwnHost = ownHost?.ToLowerInvariant();

    /// <summary>The XMPP host this node serves, if it is part of a DMUC deployment.</summary>
    public string? OwnHost { get; }

    public Address? PrimaryNode => Volatile.Read(ref _view).Primary;

    public IReadOnlyDictionary<string, Address> Hosts => Volatile.Read(ref _view).Hosts;

    public static string HostRole(string host) => HostRolePrefix + host.ToLowerInvariant();

    /// <summary>The node serving <paramref name="host"/> when that is another node; null for our own host and
    /// for hosts without a Dmuc node (their users are reached through our own XMPP server, over s2s).</summary>
    public Address? ReplicaNodeFor(string host)
    {
        if (host == OwnHost) return null;
        return Volatile.Read(ref _view).Hosts.GetValueOrDefault(host);
    }

    internal void Update(IEnumerable<Member> members)
    {
        var hosts = ImmutableDictionary.CreateBuilder<string, Address>();
        Address? primary = null;
        // Reachability is deliberately not looked at: an Unreachable member keeps its status and stays routable, since
        // a netsplit is handled by the replica links (keepalive, netjoin), not by forgetting the host. Only a member
        // that is Down, leaving or removed stops being a target, which is a bounce for the links that used it.
        foreach (var member in members.Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp))
        {
            foreach (var role in member.Roles.Where(r => r.StartsWith(HostRolePrefix, StringComparison.Ordinal)))
                hosts[role[HostRolePrefix.Length..]] = member.Address;
            if (member.HasRole(PrimaryRole) && (primary is null || Member.AddressOrdering.Compare(member.Address, primary) < 0))
                primary = member.Address;
        }
        Volatile.Write(ref _view, new View(hosts.ToImmutable(), primary));
    }

    private sealed record View(ImmutableDictionary<string, Address> Hosts, Address? Primary);
}

/// <summary>Keeps <see cref="ClusterHosts"/> in step with cluster membership.</summary>
public sealed class ClusterHostsWatcher : ReceiveActor
{
    private readonly ClusterHosts _hosts;
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly Dictionary<Address, Member> _members = new();

    public ClusterHostsWatcher(ClusterHosts hosts)
    {
        _hosts = hosts;
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            _members.Clear();
            foreach (var member in state.Members) _members[member.Address] = member;
            _hosts.Update(_members.Values);
        });
        Receive<ClusterEvent.IMemberEvent>(change =>
        {
            if (change is ClusterEvent.MemberRemoved) _members.Remove(change.Member.Address);
            else _members[change.Member.Address] = change.Member;
            _hosts.Update(_members.Values);
        });
    }

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);
}

public static class ClusterHostsHosting
{
    public static AkkaConfigurationBuilder AddClusterHostsWatcher(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry, resolver) =>
            registry.Register<ClusterHostsWatcher>(system.ActorOf(
                Props.Create(() => new ClusterHostsWatcher(resolver.GetService<ClusterHosts>())), "cluster-hosts")));
}
