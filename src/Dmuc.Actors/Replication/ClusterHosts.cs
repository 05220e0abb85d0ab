using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;
using Dmuc.Actors.Security;
using Dmuc.Credentials;

namespace Dmuc.Actors.Replication;

/// <summary>
/// Which cluster node serves which XMPP host, and which node holds the primaries. Nodes say it with their
/// cluster roles (<c>host-DOMAIN</c>, and <c>primary</c> or <c>replica</c>) and prove it with their certificate;
/// <see cref="ClusterHostsWatcher"/> keeps this view current. Rooms read it on every command, so it is an immutable snapshot swapped atomically.
/// </summary>
public sealed class ClusterHosts
{
    public const string PrimaryRole = "primary";
    public const string ReplicaRole = "replica";
    // HOCON carries roles unquoted, so no colon here.
    private const string HostRolePrefix = "host-";

    private View _view = new(ImmutableDictionary<string, Address>.Empty, null, ImmutableHashSet<Address>.Empty);

    public ClusterHosts(string? ownHost) => OwnHost = ownHost?.ToLowerInvariant();

    /// <summary>The XMPP host this node serves, if it is part of a DMUC deployment.</summary>
    public string? OwnHost { get; }

    /// <summary>
    /// Where replicas send what their users send: the primary node, or with rooms sharded the first primary-capable node
    /// in address order, whose room directory routes to wherever the room lives.
    /// </summary>
    public Address? PrimaryNode => Volatile.Read(ref _view).Primary;

    public IReadOnlyDictionary<string, Address> Hosts => Volatile.Read(ref _view).Hosts;

    /// <summary>Every trusted node with the primary role (several when rooms are sharded over them).</summary>
    public IReadOnlySet<Address> PrimaryNodes => Volatile.Read(ref _view).Primaries;

    public static string HostRole(string host) => HostRolePrefix + host.ToLowerInvariant();

    /// <summary>The node serving <paramref name="host"/> when that is another node; null for our own host and
    /// for hosts without a Dmuc node (their users are reached through our own XMPP server, over s2s).</summary>
    public Address? ReplicaNodeFor(string host)
    {
        if (host == OwnHost) return null;
        return Volatile.Read(ref _view).Hosts.GetValueOrDefault(host);
    }

    /// <summary>The XMPP host a <c>host-DOMAIN</c> role names; null for other roles.</summary>
    public static string? HostOfRole(string role) =>
        role.StartsWith(HostRolePrefix, StringComparison.Ordinal) ? role[HostRolePrefix.Length..] : null;

    /// <summary>True when <paramref name="node"/> is the node whose certificate vouches for <paramref name="host"/>.</summary>
    public bool SpeaksFor(Address node, string host) =>
        Volatile.Read(ref _view).Hosts.GetValueOrDefault(host.ToLowerInvariant()) is { } served && served == node;

    /// <summary>
    /// True for every node that may hold rooms: with rooms sharded over several primary-capable nodes
    /// (<see cref="Rooms.RoomPlacement.Sharded"/>) a room's batches come from whichever of them holds it now.
    /// </summary>
    public bool IsPrimaryNode(Address node) => Volatile.Read(ref _view).Primaries.Contains(node);

    /// <summary>The node that serves this node's own host: itself, or another while this one stands by (<see cref="HostStandby"/>).</summary>
    public Address? OwnHostNode => OwnHost is { } host ? Volatile.Read(ref _view).Hosts.GetValueOrDefault(host) : null;

    /// <summary>
    /// <see cref="OwnHostNode"/>, and whether <paramref name="cluster"/> sees it reachable now (this view itself looks at
    /// membership only); reachable while there is none.
    /// </summary>
    public (Address? Node, bool Reachable) OwnHostServer(Cluster cluster)
    {
        var serving = OwnHostNode;
        return (serving, serving is null || cluster.State.Unreachable.All(member => member.Address != serving));
    }

    /// <summary>
    /// Reachability is deliberately not looked at: an Unreachable member keeps its status and stays routable, since
    /// a netsplit is handled by the replica links (keepalive, netjoin), not by forgetting the host. Only nodes the
    /// watcher trusts (Up, and proven by their certificate) are in the view. Of several nodes that may serve one host, the
    /// oldest member serves it, and the others are its standbys: every node names the same one, and a standby becomes
    /// the oldest only once the one it stands by for is downed (<see cref="HostStandby"/>).
    /// </summary>
    /// <param name="nodesOldestFirst">In <see cref="Member.AgeOrdering"/>.</param>
    internal void Update(IEnumerable<TrustedNode> nodesOldestFirst)
    {
        var hosts = ImmutableDictionary.CreateBuilder<string, Address>();
        var primaries = ImmutableHashSet.CreateBuilder<Address>();
        Address? primary = null;
        foreach (var node in nodesOldestFirst)
        {
            if (node.Host is { } host) hosts.TryAdd(host, node.Address);
            if (!node.IsPrimary) continue;
            primaries.Add(node.Address);
            if (primary is null || Member.AddressOrdering.Compare(node.Address, primary) < 0) primary = node.Address;
        }
        Volatile.Write(ref _view, new View(hosts.ToImmutable(), primary, primaries.ToImmutable()));
    }

    private sealed record View(ImmutableDictionary<string, Address> Hosts, Address? Primary, ImmutableHashSet<Address> Primaries);
}

/// <summary>
/// Keeps <see cref="ClusterHosts"/> in step with cluster membership, admitting a member to the view only once it
/// has proven with its certificate what it says it serves (<see cref="MemberTrust"/>). A member whose roles say
/// more than its certificate is downed. Every node's watcher also answers the others' challenges.
/// </summary>
public sealed class ClusterHostsWatcher : ReceiveActor, IWithTimers
{
    public const string Name = "cluster-hosts";
    private static readonly TimeSpan ChallengeRetry = TimeSpan.FromSeconds(1);

    private readonly ClusterHosts _hosts;
    private readonly NodeCredential _credential;
    private readonly MemberTrust _trust;
    private readonly Cluster _cluster = Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<Address, Member> _members = new();
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;

    public ClusterHostsWatcher(ClusterHosts hosts, NodeCredential credential, string mucDomain)
    {
        _hosts = hosts;
        _credential = credential;
        _trust = new MemberTrust(credential, mucDomain);
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            _members.Clear();
            foreach (var member in state.Members) _members[member.Address] = member;
            Refresh();
        });
        Receive<ClusterEvent.IMemberEvent>(change =>
        {
            if (change is ClusterEvent.MemberRemoved)
            {
                _members.Remove(change.Member.Address);
                _trust.Forget(change.Member.Address);
            }
            else
            {
                _members[change.Member.Address] = change.Member;
                if (change.Member.UniqueAddress == _cluster.SelfUniqueAddress && change.Member.Status is MemberStatus.Up or MemberStatus.WeaklyUp)
                    Timers.Cancel(nameof(AnnounceIncarnation));
            }
            Refresh();
            // Published once the view no longer names it, so that whoever hears it routes to the primary node that is left.
            if (change is ClusterEvent.MemberRemoved && change.Member.HasRole(ClusterHosts.PrimaryRole))
                Context.System.EventStream.Publish(new PrimaryNodeRemoved(change.Member.Address));
        });
        Receive<IncarnationStarted>(HandleIncarnationStarted);
        Receive<AnnounceIncarnation>(_ => AnnounceIncarnationToSeeds());
        Receive<ProveNode>(prove => Sender.Tell(new NodeProof(_credential.Certificate.RawData, _credential.Prove(prove.Challenge, _cluster.SelfAddress.ToString()))));
        Receive<NodeProof>(HandleProofFromMember);
        Receive<ChallengeUnproven>(_ => ChallengeUnprovenMembers());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>A member with the primary role left the cluster (published on the event stream after the view dropped it).</summary>
    public sealed record PrimaryNodeRemoved(Address Node);

    public static Props Props(ClusterHosts hosts, NodeCredential credential, string mucDomain) =>
        Akka.Actor.Props.Create(() => new ClusterHostsWatcher(hosts, credential, mucDomain));

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));
        Timers.StartPeriodicTimer(nameof(ChallengeUnproven), ChallengeUnproven.Instance, ChallengeRetry);
        if (_cluster.Settings.SeedNodes.Any(seed => seed != _cluster.SelfAddress))
        {
            AnnounceIncarnationToSeeds();
            Timers.StartPeriodicTimer(nameof(AnnounceIncarnation), AnnounceIncarnation.Instance, ChallengeRetry);
        }
    }

    /// <summary>
    /// Until this node is Up, tells the other seeds that it started afresh. Were it a restart, its previous incarnation would
    /// still be listed at this address (unreachable, since nothing downs automatically: docs/protocol/netjoin.md §4); the seeds
    /// then neither admit this one nor, while it is listed, get their answers to its join attempts through to it, so this
    /// node would end up forming a cluster of its own (§5).
    /// </summary>
    private void AnnounceIncarnationToSeeds()
    {
        var self = _cluster.SelfUniqueAddress;
        var started = IncarnationStarted.Signed(_credential, self.Address, self.Uid, _startedAt);
        foreach (var seed in _cluster.Settings.SeedNodes.Where(seed => seed != self.Address))
            Context.ActorSelection(new RootActorPath(seed) / "user" / Name).Tell(started, Self);
    }

    /// <summary>A node started afresh at the address of a member we list: that member is its previous incarnation, and is downed.</summary>
    private void HandleIncarnationStarted(IncarnationStarted started)
    {
        if (Sender.Path.Address.ToString() != started.Address) return;
        Context.System.EventStream.Publish(new NodeNotInCluster(Sender.Path.Address));
        if (_members.Values.FirstOrDefault(member => member.Address.ToString() == started.Address) is not { } listed
            || listed.Status is MemberStatus.Down or MemberStatus.Removed) return;
        if (_trust.PreviousIncarnationRefusal(listed.UniqueAddress, listed.Roles, started, DateTimeOffset.UtcNow) is { } refusal)
        {
            if (listed.UniqueAddress.Uid != started.Uid) _log.Warning("Kept cluster member {0} despite a new incarnation's announcement: {1}", listed, refusal);
            return;
        }
        _log.Warning("Downed cluster member {0}: a new incarnation of it (uid {1}) started at that address on {2:O}", listed, started.Uid, started.StartedAt);
        _cluster.Down(listed.Address);
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void HandleProofFromMember(NodeProof proof)
    {
        var member = Sender.Path.Address;
        var wasProven = _trust.IsProven(member);
        if (_trust.AcceptProof(member, proof) is { } refusal) RefuseMember(member, $"its proof is {refusal}");
        else if (!wasProven && _trust.IsProven(member)) _log.Info("Admitted cluster member {0}: its certificate proved", member);
        Refresh();
    }

    private void Refresh()
    {
        var trusted = new List<TrustedNode>();
        // Hosts claimed by an older member whose proof has not come yet: a younger node of the same host (a standby that just
        // joined, and trusts itself at once) must not be named for it meanwhile, or it would serve beside the one it stands by for.
        var awaitingOlderProof = new HashSet<string>();
        foreach (var member in _members.Values.Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp).OrderBy(m => m, Member.AgeOrdering))
        {
            switch (_trust.Judge(member, _cluster.SelfAddress))
            {
                case MemberTrust.Trusted { Node: var node }:
                    trusted.Add(node.Host is { } host && awaitingOlderProof.Contains(host) ? node with { Host = null } : node);
                    break;
                case MemberTrust.Impostor impostor:
                    RefuseMember(member.Address, impostor.Reason);
                    break;
                case MemberTrust.Unproven:
                    foreach (var role in member.Roles)
                        if (ClusterHosts.HostOfRole(role) is { } claimed) awaitingOlderProof.Add(claimed);
                    break;
            }
        }
        _hosts.Update(trusted);
        ChallengeUnprovenMembers();
    }

    private void ChallengeUnprovenMembers()
    {
        foreach (var member in _members.Values.Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp
                                                          && m.Address != _cluster.SelfAddress && !_trust.IsProven(m.Address)))
            Context.ActorSelection(new RootActorPath(member.Address) / "user" / Name).Tell(new ProveNode(_trust.Challenge(member.Address)), Self);
    }

    private void RefuseMember(Address member, string reason)
    {
        _log.Warning("Downed cluster member {0}: {1}", member, reason);
        _members.Remove(member);
        _trust.Forget(member);
        _cluster.Down(member);
    }

    private sealed class ChallengeUnproven
    {
        public static readonly ChallengeUnproven Instance = new();
    }

    private sealed class AnnounceIncarnation
    {
        public static readonly AnnounceIncarnation Instance = new();
    }
}

public static class ClusterHostsHosting
{
    public static AkkaConfigurationBuilder AddClusterHostsWatcher(this AkkaConfigurationBuilder builder, NodeCredential credential, string mucDomain) =>
        builder.WithActors((system, registry, resolver) =>
            registry.Register<ClusterHostsWatcher>(system.ActorOf(
                ClusterHostsWatcher.Props(resolver.GetService<ClusterHosts>(), credential, mucDomain), ClusterHostsWatcher.Name)));
}
